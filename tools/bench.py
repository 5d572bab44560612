"""Benchmark the assistant against plain Rasa on this machine; the LAST printed line is one JSON object.

Measures, for our stack and for plain Rasa (Rasa's default pipeline/policies and its Redis tracker store, same
data, same action server): cold start to first answer, REST turn latency sequential and with 20 concurrent
conversations, turns/s, latency growth over a 200-turn conversation, and RSS of each process. Also the retrieval
query latency inside the action server's code path. Both stacks keep their trackers in Redis (db 13).
`--real-questions N` also sends ours up to N real questions (the blind sets' validation lines) and reports how much
each process grew on them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
# ours is started as tools/stack.sh starts it: Rasa's command line through rasa_addons, without TensorFlow
OURS_RASA = [str(ROOT / ".venv" / "rasa" / "bin" / "python"), "-m", "rasa_addons"]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
RUN = ROOT / ".run" / "bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
ACTIONS_PORT, OURS_PORT, PLAIN_PORT = 5255, 5205, 5305
CONCURRENCY, TURNS_PER_CONVERSATION, LONG_TURNS = 20, 10, 200


def script_turns() -> int:
    """BENCH_TURNS: how many turns each of the 20 residents sends in the concurrent run of the script (default 30: 600
    turns). With 10 (200 turns, about a second of our stack's time) the p95 was mostly the start, when the 20 first
    messages arrive together and queue behind each other; 30 measures the steady state the goal is about. Both stacks
    get the same number."""
    value = os.environ.get("BENCH_TURNS", "30").strip()
    if not value.isdigit() or not 1 <= int(value) <= 500:
        raise SystemExit(f"BENCH_TURNS must be 1–500, not {value}")
    return int(value)

# Rasa's own setting, the same for both stacks: one worker per core, as docker-compose runs it on a 2-core host
WORKERS = os.environ.get("SANIC_WORKERS", "2")

# Messages a resident might send, written for the benchmark (not from any evaluation set).
MESSAGES = [
    "xin chào", "tôi quên mật khẩu vneid phải làm sao", "lam the nao de kich hoat tai khoan dinh danh",
    "đăng ký khai sinh cho con online ở đâu", "nop ho so tren dich vu cong the nao", "cảm ơn bạn",
    "thanh toán lệ phí bị trừ tiền mà chưa cập nhật", "xin phieu ly lich tu phap tren vneid",
    "hôm nay thời tiết thế nào", "đăng ký tạm trú online cần gì", "sdt doi roi ko nhan dc otp",
    "chữ ký số cá nhân làm ở đâu", "tổng đài hỗ trợ vneid số mấy", "ok", "có ai gọi bảo cập nhật vneid là lừa đảo không",
    "làm lại căn cước bị mất", "menu", "tra cứu hồ sơ đã nộp ở đâu", "đăng ký kết hôn cần giấy tờ gì", "tạm biệt",
    # a walkthrough: start, readiness answers, steps, stuck, back
    "hướng dẫn tôi từng bước đăng ký tạm trú online", "có", "có", "tiếp", "tiếp", "tôi bị kẹt", "quay lại", "tiếp",
]


# Questions a resident asks in their own words are almost never the same text twice, while the script above repeats:
# its retrieval (the dense query encode above all) is then served from the action server's memo of recent queries.
# For the capacity model the benchmark also sends every question as a text not seen before: the script's questions,
# each with one of these openings and endings (written for the benchmark), 20 residents at once.
OPENINGS = ["", "cho em hỏi ", "chị ơi ", "dạ cho tôi hỏi ", "anh ơi ", "xin hỏi ", "cô ơi cho cháu hỏi ", "ad ơi "]
ENDINGS = ["", " ạ", " vậy", " với", " nhé", " giúp tôi", " được không ạ", " vậy em"]
QUESTIONS = [m for m in MESSAGES[:20] if len(m.split()) >= 4]


def fresh_questions(count: int) -> list[str]:
    """`count` different texts (up to len(QUESTIONS) × 63), each one of the script's questions in other words."""
    texts = [f"{o}{q}{e}" for o in OPENINGS for e in ENDINGS if o or e for q in QUESTIONS]
    return texts[:count]


def tree_sum(pid: int, measure: Callable[[int], float]) -> float:
    """`measure` summed over a process and all its descendants (a process that is gone or unreadable counts 0)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += measure(p)
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError, StopIteration, IndexError, ValueError):
            continue
    return total


def _kb_field(path: str, field: str) -> float:
    """A "<field> <n> kB" line of a /proc file, in kB."""
    return float(next(line.split()[1] for line in Path(path).read_text().splitlines() if line.startswith(field)))


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    return tree_sum(pid, lambda p: _kb_field(f"/proc/{p}/status", "VmRSS")) / 1024


def pss_mb(pid: int) -> float:
    """Proportional memory of a process and all its descendants, in MB: pages shared between them (forked Sanic
    workers share what was imported before the fork) are counted once, split between the sharers, not once each."""
    return tree_sum(pid, lambda p: _kb_field(f"/proc/{p}/smaps_rollup", "Pss:")) / 1024


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process and all its descendants have used so far."""
    tick = os.sysconf("SC_CLK_TCK")

    def one(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)

    return tree_sum(pid, one)


def redis_cpu_s() -> float:
    """CPU seconds the benchmark's Redis server has used (INFO cpu): the whole server, as a deployment sees it."""
    import redis

    info = redis.Redis.from_url(REDIS_URL).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def redis_tracker_bytes() -> dict[str, float]:
    """Redis memory (MEMORY USAGE) of the stored conversations after the run: per conversation and per resident
    message (what the capacity model multiplies out)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter("tracker:*", count=1000))
    conversations = {k.decode().rsplit(":", 1)[0] for k in keys}
    used = sum(int(client.memory_usage(k) or 0) for k in keys)
    turns = sum(1 for k in keys if k.decode().endswith(":events") and client.type(k) == b"list"
                for e in client.lrange(k, 0, -1) if json.loads(e).get("event") == "user")
    return {"redis_kb_per_conversation": round(used / 1024 / max(1, len(conversations)), 1),
            "redis_kb_per_turn": round(used / 1024 / max(1, turns), 2)}


def start(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start a server process in its own process group."""
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                            start_new_session=True)


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a process group started by start()."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def first_answer(url: str, limit: float = 240) -> float:
    """Seconds until the webhook answers a question with a non-empty reply."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        try:
            r = httpx.post(url, json={"sender": f"cold-{uuid.uuid4().hex[:6]}", "message": "kích hoạt vneid thế nào"},
                           timeout=60)
            if r.status_code == 200 and r.json() and r.json()[0].get("text"):
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} gave no answer within {limit}s")


async def conversation(client: httpx.AsyncClient, url: str, turns: int, offset: int,
                       replies: list[list[str]] | None = None, messages: list[str] = MESSAGES) -> list[float]:
    """One resident sending `turns` of `messages` (from `offset`, round) one after another; per-turn latencies in ms
    (and each turn's reply texts appended to `replies`, when given)."""
    sender, latencies = f"bench-{uuid.uuid4().hex[:10]}", []
    for i in range(turns):
        message = messages[(offset + i) % len(messages)]
        started = time.perf_counter()
        # with a message id, as every gateway sends one (Rasa then checks the conversation for a repeat)
        response = await client.post(url, json={"sender": sender, "message": message, "message_id": uuid.uuid4().hex})
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
        if replies is not None:
            # the texts only: Rasa's stock REST channel sends a reply's custom payload as a message of its own
            replies.append([str(m["text"]) for m in response.json() if m.get("text")])
    return latencies


def pct(values: list[float], q: float) -> float:
    """Percentile q (0–100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process in `pids` (with its children) and of Redis."""
    return {name: cpu_s(pid) for name, pid in pids.items()} | {"redis": redis_cpu_s()}


async def load(url: str, pids: dict[str, int], script: list[list[str]] | None = None) -> dict[str, float]:
    """Sequential, concurrent and long-conversation measurements against one webhook; CPU milliseconds per turn of
    each process in `pids` (and of Redis) during the concurrent run, for the capacity model."""
    limits = httpx.Limits(max_connections=CONCURRENCY + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await conversation(client, url, len(MESSAGES), 0, script)  # warm-up: the script once, its replies kept
        sequential = await conversation(client, url, 60, 3)
        cpu_before = cpu_snapshot(pids)
        started = time.perf_counter()
        results = await asyncio.gather(*(conversation(client, url, script_turns(), i * 3)
                                         for i in range(CONCURRENCY)))
        wall = time.perf_counter() - started
        cpu_after = cpu_snapshot(pids)
        concurrent = [x for r in results for x in r]
        long = await conversation(client, url, LONG_TURNS, 0)
    head, tail = statistics.median(long[:20]), statistics.median(long[-20:])
    cpu_ms = {f"cpu_ms_per_turn_{name}": round((cpu_after[name] - cpu_before[name]) * 1000 / len(concurrent), 1)
              for name in cpu_before}
    total_cpu_ms = sum(cpu_ms.values())
    return {
        **cpu_ms,
        "cpu_ms_per_turn_total": round(total_cpu_ms, 1),
        "turns_per_s_per_core": round(1000 / total_cpu_ms, 1) if total_cpu_ms else 0.0,
        "turn_median_ms_seq": round(statistics.median(sequential), 1),
        "turn_p95_ms_seq": round(pct(sequential, 95), 1),
        "turn_median_ms_c20": round(statistics.median(concurrent), 1),
        "turn_p95_ms_c20": round(pct(concurrent, 95), 1),
        "turns_per_s_c20": round(len(concurrent) / wall, 1),
        "turns_c20": len(concurrent),
        "long_turn_1_20_ms": round(head, 1),
        "long_turn_181_200_ms": round(tail, 1),
        "growth_ratio_200": round(tail / head, 2),
    }


async def fresh_load(url: str, pids: dict[str, int]) -> dict[str, float]:
    """20 residents at once, each asking 10 questions as texts never sent before: turns/s, p95 and CPU per turn."""
    texts = fresh_questions(CONCURRENCY * TURNS_PER_CONVERSATION)
    limits = httpx.Limits(max_connections=CONCURRENCY + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        cpu_before = cpu_snapshot(pids)
        started = time.perf_counter()
        results = await asyncio.gather(*(conversation(client, url, TURNS_PER_CONVERSATION, 0,
                                                      messages=texts[i::CONCURRENCY]) for i in range(CONCURRENCY)))
        wall = time.perf_counter() - started
        cpu_after = cpu_snapshot(pids)
    turns = [x for r in results for x in r]
    cpu_ms = {f"fresh_cpu_ms_per_turn_{name}": round((cpu_after[name] - cpu_before[name]) * 1000 / len(turns), 1)
              for name in cpu_before}
    return {**cpu_ms, "fresh_cpu_ms_per_turn_total": round(sum(cpu_ms.values()), 1),
            "fresh_turns_per_s_c20": round(len(turns) / wall, 1), "fresh_turn_p95_ms_c20": round(pct(turns, 95), 1)}


# Real resident questions for the memory run (`--real-questions N`): the validation lines of the blind sets, which
# are for reporting and tuning thresholds, never for training. Their many lengths and words are what grows a process
# that only ever saw the script's (the encoder's per-shape kernels, the query memo).
BLIND = ROOT / "eval" / "blind"


def real_questions(count: int, blind: Path = BLIND) -> list[str]:
    """Up to `count` question texts from the blind sets' validation lines (test lines are never read), each once."""
    texts: list[str] = []
    for path in sorted(blind.glob("*/questions.jsonl")) + [blind / "questions.jsonl"]:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line) if line.strip() else {}
            if item.get("split", "validation") == "validation" and isinstance(item.get("text"), str):
                texts.append(item["text"])
    return list(dict.fromkeys(texts))[:count]


async def real_load(url: str, pids: dict[str, int], count: int) -> dict[str, float]:
    """`count` real questions, each in a new conversation, 8 at a time: how much each process grows (PSS, MB)."""
    texts = real_questions(count)
    before = {name: pss_mb(pid) for name, pid in pids.items()}
    limits = httpx.Limits(max_connections=13)
    gate = asyncio.Semaphore(8)

    async def ask(text: str) -> None:
        async with gate:
            await conversation(client, url, 1, 0, messages=[text])

    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(ask(text) for text in texts))
    after = {name: pss_mb(pid) for name, pid in pids.items()}
    return {"real_questions": len(texts), **{f"real_pss_mb_{name}": round(after[name], 0) for name in pids},
            **{f"real_growth_mb_{name}": round(after[name] - before[name], 0) for name in pids}}


def retrieval_latency() -> float:
    """p95 of the retrieval search alone, with the same settings as the action server."""
    from actions.retrieval.index import get_index

    index = get_index()
    index.search("warm up")
    times = []
    for message in MESSAGES * 3:
        started = time.perf_counter()
        index.search(message)
        times.append((time.perf_counter() - started) * 1000)
    return round(pct(times, 95), 1)


def plain_epochs() -> int | None:
    """BENCH_PLAIN_EPOCHS: train plain Rasa's networks (DIET, the ResponseSelector, TED, UnexpecTED) for this many
    epochs instead of config-plain.yml's 100. None: as configured."""
    value = os.environ.get("BENCH_PLAIN_EPOCHS", "").strip()
    if not value:
        return None
    epochs = int(value)
    if not 1 <= epochs <= 100:
        raise SystemExit(f"BENCH_PLAIN_EPOCHS must be 1–100, not {value}")
    return epochs


def plain_config(epochs: int | None) -> tuple[Path, Path]:
    """The plain-Rasa config and model: config-plain.yml, or a copy with every `epochs:` set to `epochs`.

    Epochs change how long the networks train, not the networks: a message passes through the same layers of the
    same size either way, so the per-message cost the benchmark measures is the same. Fewer epochs make a worse
    classifier, which could change the replies and so the work per turn; the report compares plain Rasa's replies to
    ours turn by turn (`plain_same_replies`) to show how far that goes.
    """
    source = ROOT / "config-plain.yml"
    if epochs is None:
        return source, ROOT / "models" / "plain.tar.gz"
    config = RUN / f"config-plain-e{epochs}.yml"
    text = re.sub(r"(?m)^(\s*epochs:\s*)\d+\s*$", lambda m: f"{m.group(1)}{epochs}", source.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    return config, ROOT / "models" / f"plain-e{epochs}.tar.gz"


def train_plain(env: dict[str, str], epochs: int | None) -> Path:
    """Train the plain-Rasa comparison model if missing (or stale with BENCH_RETRAIN_PLAIN=1).

    Its training (DIET and TED, 100 epochs each) took over 130 CPU minutes with today's data, so an existing model is
    reused even when the training data changed since; set BENCH_RETRAIN_PLAIN=1 to rebuild it, BENCH_PLAIN_EPOCHS to
    train shorter (`plain_config`). TensorFlow may use both cores for it (BENCH_TRAIN_THREADS, default 2).
    """
    config, model = plain_config(epochs)
    if model.exists() and os.environ.get("BENCH_RETRAIN_PLAIN") != "1":
        print(f"Reusing {model.relative_to(ROOT)} (BENCH_RETRAIN_PLAIN=1 retrains it)", flush=True)
        return model
    threads = os.environ.get("BENCH_TRAIN_THREADS", "2")
    print(f"Plain-Rasa comparison model ({config.name}; long: see train_plain)…", flush=True)
    subprocess.run([str(ROOT / "tools" / "stack.sh"), "train"], cwd=ROOT, check=True,
                   env={**env, "RASA_CONFIG": str(config.relative_to(ROOT)), "MODEL": str(model.relative_to(ROOT)),
                        "RUN_DIR": str(RUN), "OMP_NUM_THREADS": threads, "TF_INTRA_OP_PARALLELISM_THREADS": threads,
                        "TF_INTER_OP_PARALLELISM_THREADS": "1"})
    return model


def same_replies(ours: list[list[str]], plain: list[list[str]]) -> str:
    """How many turns of the benchmark's script got the same reply texts from both stacks, as "k/n"."""
    return f"{sum(a == b for a, b in zip(ours, plain, strict=False))}/{len(ours)}"


def real_questions_asked(args: list[str]) -> int:
    """N of `--real-questions N` (0 without it); exits with a short message when N is missing or not a number."""
    if "--real-questions" not in args:
        return 0
    value = args[args.index("--real-questions") + 1:][:1]
    if not value or not value[0].isdigit():
        raise SystemExit("--real-questions needs a number of questions, e.g. --real-questions 2000")
    return int(value[0])


def main() -> None:
    """Run both stacks one after the other and print the report (`--ours-only` skips plain Rasa and its training;
    `--real-questions N` then sends N real questions to ours and reports how much each process grew)."""
    ours_only = "--ours-only" in sys.argv[1:]
    real = real_questions_asked(sys.argv[1:])
    RUN.mkdir(parents=True, exist_ok=True)
    from urllib.parse import urlparse

    parsed = urlparse(REDIS_URL)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "SANIC_HOST": "127.0.0.1",
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ACTIONS_PORT}/webhook",
           "TRACKER_STORE_URL": REDIS_URL, "LOCK_STORE_URL": REDIS_URL,
           # the action server writes analytics to the same Redis, as in production
           "REDIS_URL": REDIS_URL, "FEEDBACK_ID_KEY": "bench-pseudonym-key-0123456789abcdef",
           "PLAIN_REDIS_HOST": parsed.hostname or "127.0.0.1", "PLAIN_REDIS_PORT": str(parsed.port or 6379),
           "PLAIN_REDIS_DB": (parsed.path or "/13").lstrip("/") or "13", "SANIC_WORKERS": WORKERS}
    epochs = plain_epochs()
    plain_model = None if ours_only else train_plain(env, epochs)
    report: dict[str, object] = {"rasa_workers": int(WORKERS)}
    actions = rasa = plain = None
    try:
        # cold start: both processes from nothing to the first answered question
        started = time.perf_counter()
        actions = start([str(APP_PY), "-m", "actions.server", "--port", str(ACTIONS_PORT)],
                        RUN / "actions.log", env)
        rasa = start([*OURS_RASA, "run", "-i", "127.0.0.1", "-p", str(OURS_PORT), "--model", "models/assistant.tar.gz",
                      "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"], RUN / "rasa.log",
                     {**env, "RASA_WITHOUT_TENSORFLOW": os.environ.get("RASA_WITHOUT_TENSORFLOW", "1")})
        ours_url = f"http://127.0.0.1:{OURS_PORT}/webhooks/rest/webhook"
        first_answer(ours_url)
        report["cold_start_s"] = round(time.perf_counter() - started, 1)
        print(f"ours: cold start {report['cold_start_s']} s; loading…", flush=True)
        ours_script: list[list[str]] = []
        ours = asyncio.run(load(ours_url, {"rasa": rasa.pid, "actions": actions.pid}, ours_script))
        ours.update(redis_tracker_bytes())
        ours.update(asyncio.run(fresh_load(ours_url, {"rasa": rasa.pid, "actions": actions.pid})))
        report["rss_mb_rasa"] = round(rss_mb(rasa.pid), 0)
        report["rss_mb_actions"] = round(rss_mb(actions.pid), 0)
        report["rss_mb_total"] = report["rss_mb_rasa"] + report["rss_mb_actions"]  # type: ignore[operator]
        report["pss_mb_rasa"] = round(pss_mb(rasa.pid), 0)
        report["pss_mb_actions"] = round(pss_mb(actions.pid), 0)
        report["pss_mb_total"] = report["pss_mb_rasa"] + report["pss_mb_actions"]  # type: ignore[operator]
        if real:
            report.update(asyncio.run(real_load(ours_url, {"rasa": rasa.pid, "actions": actions.pid}, real)))
            report["real_pss_mb_total"] = report["real_pss_mb_rasa"] + report["real_pss_mb_actions"]  # type: ignore[operator]
        stop(rasa)
        rasa = None
        print(f"ours: {json.dumps(ours)}", flush=True)
        if plain_model is None:
            report.update(ours)
            print(json.dumps(report, ensure_ascii=False))
            return

        started = time.perf_counter()
        plain = start([str(RASA), "run", "-i", "127.0.0.1", "-p", str(PLAIN_PORT), "--model", str(plain_model),
                       "--endpoints", "tools/plain/endpoints.yml", "--credentials", "tools/plain/credentials.yml"],
                      RUN / "plain.log", env)
        plain_url = f"http://127.0.0.1:{PLAIN_PORT}/webhooks/rest/webhook"
        first_answer(plain_url)
        plain_cold = round(time.perf_counter() - started, 1)
        print(f"plain: cold start (Rasa only, action server already warm) {plain_cold} s; loading…", flush=True)
        plain_script: list[list[str]] = []
        base = asyncio.run(load(plain_url, {"rasa": plain.pid, "actions": actions.pid}, plain_script))
        report["plain_rss_mb_rasa"] = round(rss_mb(plain.pid), 0)
        print(f"plain: {json.dumps(base)}", flush=True)
    finally:
        for proc in (rasa, plain, actions):
            stop(proc)
    os.environ.update({k: v for k, v in env.items() if k in ("OMP_NUM_THREADS", "HF_HUB_OFFLINE")})
    report.update(ours)
    report["retrieval_p95_ms"] = retrieval_latency()
    report.update({f"plain_{k}": v for k, v in base.items()})
    report["plain_cold_start_rasa_only_s"] = plain_cold
    report["plain_epochs"] = epochs or 100
    report["plain_same_replies"] = same_replies(ours_script, plain_script)
    (RUN / "script-replies.json").write_text(json.dumps({"messages": MESSAGES, "ours": ours_script,
                                                         "plain": plain_script}, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
    report["throughput_ratio_vs_plain"] = round(ours["turns_per_s_c20"] / base["turns_per_s_c20"], 2)
    report["p95_ratio_vs_plain"] = round(base["turn_p95_ms_c20"] / ours["turn_p95_ms_c20"], 2)
    report["embedding_backend"] = os.environ.get("EMBEDDING_BACKEND", "sentence-transformers")
    from actions.retrieval.dense import effective_precision

    report["embedding_precision"] = effective_precision(os.environ.get("EMBEDDING_PRECISION", "auto"))
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
