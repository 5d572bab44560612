"""Terminal chat with the running assistant (what `make run` opens): type, or pick a button by its number."""

from __future__ import annotations

import argparse
import sys
import uuid

import httpx


def render(replies: list[dict]) -> list[dict]:
    """Print bot replies; return the buttons of the last one."""
    buttons: list[dict] = []
    for reply in replies:
        print(f"\n🤖 {reply.get('text', '')}")
        buttons = reply.get("buttons") or []
        for i, button in enumerate(buttons, 1):
            print(f"   [{i}] {button.get('title')}")
    return buttons


def main() -> None:
    """Chat loop; Ctrl-D or 'thoát' ends it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    parser.add_argument("--sender", default=f"terminal-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
    print("Trợ lý dịch vụ công — gõ câu hỏi (có dấu hay không dấu đều được); gõ số để chọn nút; 'thoát' để dừng.")
    buttons: list[dict] = []
    with httpx.Client(timeout=60) as client:
        while True:
            try:
                text = input("\n🧑 ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return
            if text.lower() in {"thoát", "thoat", "exit", "quit"}:
                return
            if text.isdigit() and 1 <= int(text) <= len(buttons):
                text = buttons[int(text) - 1]["payload"]
            try:
                response = client.post(args.url, json={"sender": args.sender, "message": text})
                buttons = render(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                print(f"\n⚠️  Không kết nối được trợ lý ({exc.__class__.__name__}). Thử lại sau ít phút.", file=sys.stderr)


if __name__ == "__main__":
    main()
