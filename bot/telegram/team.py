"""The volunteers' side of handoff: tickets posted in the team group, claimed, answered and closed from Telegram.

A ticket becomes a forum topic when the team group has topics, otherwise a message that volunteers reply to. Only
the volunteer who claimed a ticket speaks to the resident; whatever they write in the ticket's thread is relayed.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.handoff import LOG_STREAM, TEAM_STREAM, Bus, PermanentFailure, Ticket, TicketError, Tickets, wait_or_stop
from bot.quota import sent_on
from bot.relay import volunteer_text
from bot.state import GatewayState, decode
from common.text import mask_pii
from procedures.cards import Place, card_text
from procedures.search import get_procedure_index

logger = logging.getLogger(__name__)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MEMBER_STATUSES = {"creator", "administrator", "member", "restricted", "owner"}
ZALO_WINDOW_S = 48 * 3600  # Zalo OA lets the OA reply only within 48 h of the resident's last message
# why a volunteer's message did not reach the resident (the reason the resident's gateway reports)
NOT_DELIVERED = {
    "reply_window": "⚠️ Tin vừa rồi CHƯA gửi được: Zalo chỉ cho trả lời 8 tin trong 48 giờ sau tin nhắn cuối của người "
                    "dân và đã hết lượt (xã chưa bật gửi tin chủ động). Hãy chờ người dân nhắn lại, hoặc gọi điện "
                    "nếu họ đã để lại số.",
    "unreachable": "⚠️ Tin vừa rồi CHƯA gửi được cho người dân (kênh của họ không nhận). Hãy liên hệ cách khác nếu cần.",
}
CHANNEL_NAMES = {"zalo": "Zalo OA", "zalobot": "Zalo Bot", "telegram": "Telegram", "web": "Trang web"}
REASONS = {"resident_request": "Người dân xin gặp người hỗ trợ", "stuck_in_walkthrough": "Người dân bị kẹt khi làm theo hướng dẫn"}
WHO = {"resident": "Người dân", "bot": "Trợ lý", "volunteer": "Tình nguyện viên"}
# Volunteers may help residents of any commune: name the offices, not one commune's address.
ANY_COMMUNE = Place("Trung tâm phục vụ hành chính công xã nơi người dân ở",
                    "📍 Trung tâm phục vụ hành chính công xã nơi người dân ở", "Công an xã nơi người dân ở",
                    "📍 Công an xã nơi người dân ở")
PROCEDURES_SHOWN = 3


def hhmm(at: float) -> str:
    return datetime.fromtimestamp(at, VN).strftime("%H:%M %d/%m")


def ticket_text(ticket: Ticket, transcript: list[dict[str, Any]]) -> str:
    """The ticket card volunteers see: where the resident is, why, and the last turns (already masked)."""
    lines = [f"Phiếu #{ticket.id} · {CHANNEL_NAMES.get(ticket.conv.split(':')[0], ticket.channel)}",
             f"Lý do: {REASONS.get(ticket.reason, ticket.reason or 'không rõ')}"]
    if ticket.topic:
        lines.append(f"Chủ đề: {ticket.topic}")
    wt = ticket.walkthrough or {}
    if wt.get("guide_id"):
        stuck = ", ".join(str(s) for s in wt.get("stuck_steps") or []) or "không"
        lines.append(f"Đang làm: {wt['guide_id']}, bước {wt.get('step', '?')} (bị kẹt ở bước: {stuck})")
    lines.append(f"Mở lúc {hhmm(ticket.opened_at)}")
    if ticket.status == "claimed":
        lines.append(f"Đã nhận: {ticket.claimed_name}")
    elif ticket.status == "closed":
        lines.append(f"Đã đóng lúc {hhmm(ticket.closed_at)}")
    if transcript:
        lines.append("\nTrao đổi gần nhất:")
        lines += [f"{WHO.get(t['who'], t['who'])}: {t['text'][:300]}" for t in transcript[-8:]]
    if ticket.status == "open":
        lines.append("\nBấm Nhận rồi trả lời trong luồng này; tin của bạn sẽ tới người dân (số CCCD, số điện thoại, "
                     "mã OTP được che).")
    return "\n".join(lines)[:4000]


def procedure_cards(query: str, shown: int = PROCEDURES_SHOWN) -> list[str]:
    """The cards of the procedures that best match a volunteer's keywords (or a note that none does)."""
    hits = get_procedure_index().search(query, top=shown)
    if not hits:
        return [f"Không tìm thấy thủ tục nào khớp \"{query}\". Thử từ khóa khác (ví dụ: khai sinh, tạm trú, chứng thực)."]
    return [f"{i}/{len(hits)} · " + card_text(hit.record, "summary", ANY_COMMUNE) for i, hit in enumerate(hits, 1)]


def ticket_buttons(ticket: Ticket) -> InlineKeyboardMarkup | None:
    if ticket.status == "closed":
        return None
    row = [InlineKeyboardButton("Đóng", callback_data=f"t:close:{ticket.id}")]
    if ticket.status == "open":
        row.insert(0, InlineKeyboardButton("Nhận", callback_data=f"t:claim:{ticket.id}"))
    return InlineKeyboardMarkup([row])


class TeamDesk:
    """Everything the team group does with tickets."""

    def __init__(self, bot: Bot, team_chat_id: int, tickets: Tickets, state: GatewayState, bus: Bus,
                 reminder_minutes: int) -> None:
        self.bot = bot
        self.team_chat_id = team_chat_id
        self.tickets = tickets
        self.state = state
        self.bus = bus
        self.reminder_s = reminder_minutes * 60
        self._forum: bool | None = None

    async def is_forum(self) -> bool:
        if self._forum is None:
            chat = await self.bot.get_chat(self.team_chat_id)
            self._forum = bool(chat.is_forum)
        return self._forum

    async def is_member(self, user: User | None) -> bool:
        """Only members of the team group may act on tickets (cached for 5 minutes)."""
        if user is None or user.is_bot:
            return False
        key = f"gw:tgmember:{self.team_chat_id}:{user.id}"
        cached = decode(await self.state.redis.get(key))
        if cached is not None:
            return cached == "1"
        try:
            member = await self.bot.get_chat_member(self.team_chat_id, user.id)
            ok = member.status in MEMBER_STATUSES
        except TelegramError:
            ok = False
        await self.state.redis.set(key, "1" if ok else "0", ex=300)
        return ok

    # --- events from the residents' gateways (stream gw:team) ---------------------------------------------------

    async def on_team_event(self, fields: dict[str, str]) -> None:
        ticket = await self.tickets.get(fields.get("ticket", ""))
        if ticket is None:
            raise PermanentFailure(f"unknown ticket {fields.get('ticket')!r}")
        kind = fields.get("type")
        if kind == "opened":
            if not ticket.team_message:
                await self.post_ticket(ticket)
        elif kind == "resident_message":
            if not ticket.team_message:
                await self.post_ticket(ticket)
                ticket = await self.tickets.get(ticket.id) or ticket
            await self.say_in_thread(ticket, f"Người dân: {fields.get('text', '')}")
        elif kind == "not_delivered":
            await self.say_in_thread(ticket, NOT_DELIVERED.get(fields.get("text", ""), NOT_DELIVERED["unreachable"]))
        else:
            raise PermanentFailure(f"unknown team event {kind!r}")

    async def post_ticket(self, ticket: Ticket) -> None:
        """A new ticket: a forum topic (or a plain message) with the card and the Nhận / Đóng buttons."""
        text = ticket_text(ticket, await self.state.transcript(ticket.conv))
        thread = ""
        if await self.is_forum():
            topic = await self.bot.create_forum_topic(self.team_chat_id, f"#{ticket.id} {ticket.topic or 'Hỗ trợ'}"[:128])
            thread = str(topic.message_thread_id)
        message = await self.bot.send_message(self.team_chat_id, text, reply_markup=ticket_buttons(ticket),
                                              message_thread_id=int(thread) if thread else None)
        await self.tickets.link_thread(ticket, str(self.team_chat_id), thread, str(message.message_id))

    async def say_in_thread(self, ticket: Ticket, text: str) -> None:
        thread = int(ticket.team_thread) if ticket.team_thread else None
        message = await self.bot.send_message(
            self.team_chat_id, text[:4000], message_thread_id=thread,
            reply_to_message_id=None if thread else int(ticket.team_message))
        await self.tickets.link_message(ticket, str(self.team_chat_id), str(message.message_id))

    async def refresh_card(self, ticket: Ticket) -> None:
        try:
            await self.bot.edit_message_text(ticket_text(ticket, await self.state.transcript(ticket.conv)),
                                             chat_id=self.team_chat_id, message_id=int(ticket.team_message),
                                             reply_markup=ticket_buttons(ticket))
        except TelegramError:
            logger.warning("Could not update the card of ticket %s", ticket.id, exc_info=True)

    # --- volunteers' actions -------------------------------------------------------------------------------------

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or not query.data:
            return
        if not await self.is_member(query.from_user):
            await query.answer("Chỉ thành viên Tổ công nghệ số mới thao tác được phiếu.", show_alert=True)
            return
        _, action, ticket_id = query.data.split(":", 2)
        try:
            if action == "claim":
                ticket = await self.tickets.claim(ticket_id, str(query.from_user.id), query.from_user.first_name)
                await self.bus.to_resident(ticket.conv, "claimed", ticket.claimed_name, ticket.id)
                await query.answer(f"Bạn đã nhận phiếu #{ticket.id}. Hãy trả lời người dân trong luồng này.")
            elif action == "close":
                ticket = await self.close(ticket_id)
                await query.answer(f"Đã đóng phiếu #{ticket.id}.")
            else:
                await query.answer()
                return
        except TicketError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await self.refresh_card(ticket)

    async def close(self, ticket_id: str) -> Ticket:
        ticket = await self.tickets.close(ticket_id)
        await self.bus.to_resident(ticket.conv, "closed", "", ticket.id)
        if ticket.team_thread:
            try:
                await self.bot.close_forum_topic(self.team_chat_id, int(ticket.team_thread))
            except TelegramError:
                logger.warning("Could not close the topic of ticket %s", ticket.id, exc_info=True)
        return ticket

    async def on_group_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A volunteer writes in a ticket's thread: relay it if they hold the ticket."""
        message = update.effective_message
        if message is None or not message.text or message.from_user is None:
            return
        ticket = await self.ticket_of(message)
        if ticket is None:
            return  # ordinary team chatter
        if ticket.status == "closed":
            await message.reply_text(f"Phiếu #{ticket.id} đã đóng; tin này không được gửi.")
            return
        if ticket.status == "open":
            await message.reply_text("Bấm Nhận trên phiếu trước, rồi trả lời người dân.")
            return
        if ticket.claimed_by != str(message.from_user.id):
            await message.reply_text(f"Phiếu này do {ticket.claimed_name} nhận; tin của bạn không được gửi cho người dân.")
            return
        if ticket.channel == "zalo":
            last = await self.state.last_inbound(ticket.conv)
            if last is None or time.time() - last > ZALO_WINDOW_S:
                await message.reply_text("Đã quá 48 giờ từ tin nhắn cuối của người dân nên Zalo không cho gửi. "
                                         "Hãy chờ người dân nhắn lại, hoặc gọi điện nếu họ đã để lại số.")
                return
        await self.bus.to_resident(ticket.conv, "text", volunteer_text(ticket.claimed_name, mask_pii(message.text)),
                                   ticket.id)
        await self.tickets.note_reply(ticket)

    async def ticket_of(self, message: Message) -> Ticket | None:
        chat = str(message.chat_id)
        if message.is_topic_message and message.message_thread_id:
            ticket = await self.tickets.by_thread(chat, str(message.message_thread_id))
            if ticket:
                return ticket
        if message.reply_to_message:
            return await self.tickets.by_message(chat, str(message.reply_to_message.message_id))
        return None

    async def cmd_tickets(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not await self.is_member(update.effective_user):
            return
        tickets = await self.tickets.open_tickets()
        if not tickets:
            await message.reply_text("Không có phiếu nào đang mở.")
            return
        now = time.time()
        lines = [f"#{t.id} · {t.topic or 'chưa rõ chủ đề'} · "
                 f"{'đã nhận: ' + t.claimed_name if t.status == 'claimed' else 'CHƯA AI NHẬN'} · "
                 f"{int((now - t.opened_at) // 60)} phút" for t in tickets]
        await message.reply_text("Phiếu đang mở:\n" + "\n".join(lines))

    async def cmd_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not await self.is_member(update.effective_user):
            return
        await message.reply_text(await self.stats_text())

    async def cmd_procedures(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/tt <từ khóa>: the best-matching catalogue procedures, one card each."""
        message = update.effective_message
        if message is None or not await self.is_member(update.effective_user):
            return
        query = mask_pii(" ".join(context.args or []).strip())[:200]
        if not query:
            await message.reply_text("Gõ /tt và tên hoặc từ khóa của thủ tục, ví dụ: /tt tách hộ")
            return
        for text in await asyncio.to_thread(procedure_cards, query):
            await message.reply_text(text, disable_web_page_preview=True)

    async def stats_text(self) -> str:
        """Today's handoffs (Vietnam time): opened, closed, open now, median time to the first reply."""
        start = datetime.now(VN).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        entries = await self.state.redis.xrange(LOG_STREAM, min=f"{int(start * 1000)}", max="+")
        opened: dict[str, float] = {}
        waits: list[float] = []
        counts = {"opened": 0, "closed": 0}
        for _, data in entries:
            event, ticket, at = data.get("event"), data.get("ticket"), float(data.get("at") or 0)
            if event in counts:
                counts[event] += 1
            if event == "opened":
                opened[ticket] = at
            elif event == "first_reply" and ticket in opened:
                waits.append(at - opened[ticket])
        still_open = len(await self.tickets.open_tickets())
        median = f"{statistics.median(waits) / 60:.1f} phút" if waits else "chưa có"
        sent = await sent_on(self.state.redis)
        zalo = (f"\nZalo OA hôm nay: {sum(v for k, v in sent.items() if k != 'paid')} tin trong hạn mức miễn phí, "
                f"{sent.get('paid', 0)} tin tính phí." if sent else "")
        return (f"Hôm nay: {counts['opened']} phiếu mở, {counts['closed']} phiếu đã đóng, {still_open} đang mở.\n"
                f"Thời gian tới câu trả lời đầu tiên (trung vị): {median}.{zalo}")

    async def remind_loop(self, stop: asyncio.Event, every_s: float = 30.0) -> None:
        """Post one reminder in the thread of each ticket nobody claimed within the configured time."""
        while not stop.is_set():
            try:
                await self.remind_once()
            except Exception:  # noqa: BLE001 - Telegram or Redis away: next round
                logger.warning("Reminder round failed", exc_info=True)
            await wait_or_stop(stop, every_s)

    async def remind_once(self) -> None:
        now = time.time()
        for ticket in await self.tickets.open_tickets():
            if ticket.status == "open" and not ticket.reminded and ticket.team_message \
                    and now - ticket.opened_at >= self.reminder_s:
                minutes = int((now - ticket.opened_at) // 60)
                await self.say_in_thread(ticket, f"Nhắc: phiếu #{ticket.id} đã chờ {minutes} phút mà chưa có ai nhận. "
                                                 "Bạn nào rảnh bấm Nhận giúp nhé.")
                await self.tickets.update(ticket, reminded=True)
                await self.tickets.log("reminded", ticket)


__all__ = ["TEAM_STREAM", "TeamDesk"]
