/*
 * Chat widget of the public-services assistant ("Trợ lý dịch vụ công"), embedded by a commune website:
 *
 *   <script src="https://<host>/widget.js" data-endpoint="https://<host>" defer></script>
 *
 * Plain JavaScript, no build step, no external resources. Everything it shows is built with textContent and
 * createElement (never parsed as HTML), and it lives in a shadow root so the commune's own CSS cannot break it.
 */
(function () {
  "use strict";

  if (window.__troLyDvcWidget) {
    return;
  }
  window.__troLyDvcWidget = true;

  var script = document.currentScript;
  var POLL_MS = 4000;
  var REQUEST_TIMEOUT_MS = 45000;
  var MAX_CHARS = 1500;
  var KEEP_MESSAGES = 60;
  var KEY_SENDER = "troLyDvc.sender";
  var KEY_LOG = "troLyDvc.log";
  var KEY_OPEN = "troLyDvc.open";

  var T = {
    launcher: "Hỏi trợ lý dịch vụ công",
    unread: " (có tin nhắn mới)",
    title: "Trợ lý dịch vụ công",
    subtitle: "Hỏi cách làm thủ tục trực tuyến: VNeID, nộp hồ sơ, thanh toán, khai sinh…",
    close: "Đóng",
    closeLabel: "Đóng khung trò chuyện",
    clear: "Xoá trò chuyện",
    clearConfirm: "Xoá các tin nhắn trên máy này và bắt đầu cuộc trò chuyện mới?",
    logLabel: "Các tin nhắn",
    inputLabel: "Nhập câu hỏi của anh/chị",
    placeholder: "Ví dụ: Làm sao kích hoạt VNeID mức 2?",
    hint: "Bấm Enter để gửi, Shift + Enter để xuống dòng.",
    send: "Gửi",
    typing: "Đang trả lời…",
    busy: "Hệ thống đang bận, vui lòng thử lại sau ít phút.",
    empty: "Anh/chị chưa nhập câu hỏi. Anh/chị gõ câu hỏi rồi bấm Gửi nhé.",
    tooLong: "Câu hỏi dài quá (tối đa " + MAX_CHARS + " ký tự). Anh/chị viết ngắn gọn lại giúp em nhé.",
    notSent: "Chưa gửi được",
    forwarded: "Đã chuyển tin nhắn tới người hỗ trợ. Câu trả lời sẽ hiện ở đây.",
    choices: "Các lựa chọn",
    newTab: " (mở trong thẻ mới)",
    you: "Anh/chị: ",
    bot: "Trợ lý: ",
    volunteer: "Người hỗ trợ",
    notice: "Thông báo: ",
    welcome:
      "Xin chào! Em là trợ lý dịch vụ công của xã. Anh/chị cứ gõ câu hỏi, ví dụ: \u201cLàm sao kích hoạt VNeID mức 2?\u201d. " +
      "Em trả lời kèm nguồn chính thức. Cần người thật giúp, anh/chị gõ \u201cgặp người hỗ trợ\u201d.\n" +
      "Lưu ý: đừng gửi số CCCD, mật khẩu hay mã OTP vào đây."
  };

  // ---- where the server is, and who this visitor is -------------------------------------------------------------
  function endpointOf(tag) {
    var base = tag && tag.getAttribute("data-endpoint");
    if (!base && tag && tag.src) {
      base = new URL(tag.src, location.href).origin;
    }
    return (base || location.origin).replace(/\/+$/, "");
  }
  var endpoint = endpointOf(script);

  function storage(kind) {
    try {
      var s = window[kind];
      s.setItem("troLyDvc.test", "1");
      s.removeItem("troLyDvc.test");
      return s;
    } catch (e) {
      // storage blocked (private mode, cookies off): keep things in memory for this page only
      var memory = {};
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
        setItem: function (k, v) { memory[k] = String(v); },
        removeItem: function (k) { delete memory[k]; }
      };
    }
  }
  var local = storage("localStorage");
  var session = storage("sessionStorage");

  function newSenderId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function senderId() {
    var id = local.getItem(KEY_SENDER);
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      id = newSenderId();
      local.setItem(KEY_SENDER, id);
    }
    return id;
  }
  var sender = senderId();

  // ---- small DOM helpers ----------------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function safeHref(raw) {
    try {
      var url = new URL(raw);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // Text with its web addresses turned into links ("Nguồn: https://…"); everything else stays plain text.
  function appendRichText(parent, text) {
    var pattern = /https?:\/\/[^\s<>"'`]+/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var raw = match[0].replace(/[.,;:!?)\]}]+$/, "");
      var href = safeHref(raw);
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (href) {
        var link = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, raw);
        link.appendChild(el("span", { "class": "sr-only" }, T.newTab));
        parent.appendChild(link);
      } else {
        parent.appendChild(document.createTextNode(raw));
      }
      last = match.index + raw.length;
      pattern.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---- the widget's DOM -----------------------------------------------------------------------------------------
  var host = el("div", { id: "tro-ly-dvc-widget" });
  host.style.display = "none"; // shown once its stylesheet has loaded, so it never flashes unstyled
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = el("link", { rel: "stylesheet", href: endpoint + "/widget.css" });
  css.addEventListener("load", function () { host.style.display = ""; });
  css.addEventListener("error", function () { host.style.display = ""; });
  root.appendChild(css);

  var launcher = el("button", {
    type: "button", "class": "launcher", "aria-expanded": "false", "aria-controls": "tldvc-panel"
  });
  var launcherText = el("span", {}, T.launcher);
  var launcherUnread = el("span", { "class": "sr-only" }, "");
  launcher.appendChild(launcherText);
  launcher.appendChild(launcherUnread);

  var panel = el("section", { id: "tldvc-panel", "class": "panel", "aria-labelledby": "tldvc-title" });
  panel.hidden = true;

  var header = el("div", { "class": "header" });
  var heading = el("div", { "class": "heading" });
  heading.appendChild(el("h2", { id: "tldvc-title" }, T.title));
  heading.appendChild(el("p", { "class": "subtitle" }, T.subtitle));
  var closeButton = el("button", { type: "button", "class": "close", "aria-label": T.closeLabel }, T.close);
  header.appendChild(heading);
  header.appendChild(closeButton);

  var log = el("div", {
    "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": T.logLabel,
    tabindex: "0"
  });
  var typing = el("p", { "class": "typing", role: "status" }, "");

  var form = el("form", { "class": "composer", novalidate: "" });
  var label = el("label", { "for": "tldvc-input", "class": "label" }, T.inputLabel);
  var input = el("textarea", {
    id: "tldvc-input", rows: "2", maxlength: String(MAX_CHARS), placeholder: T.placeholder,
    "aria-describedby": "tldvc-hint", autocomplete: "off"
  });
  var hint = el("p", { id: "tldvc-hint", "class": "hint" }, T.hint);
  var row = el("div", { "class": "row" });
  var sendButton = el("button", { type: "submit", "class": "send" }, T.send);
  var clearButton = el("button", { type: "button", "class": "clear" }, T.clear);
  row.appendChild(input);
  row.appendChild(sendButton);
  form.appendChild(label);
  form.appendChild(row);
  form.appendChild(hint);
  form.appendChild(clearButton);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  // ---- messages -------------------------------------------------------------------------------------------------
  var history = [];
  try {
    history = JSON.parse(session.getItem(KEY_LOG) || "[]");
    if (!Array.isArray(history)) {
      history = [];
    }
  } catch (e) {
    history = [];
  }

  function save() {
    history = history.slice(-KEEP_MESSAGES);
    try {
      session.setItem(KEY_LOG, JSON.stringify(history));
    } catch (e) {
      // full or blocked: the conversation still works, it just is not restored on the next page
    }
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function disableChoices() {
    var groups = log.querySelectorAll(".choices button");
    Array.prototype.forEach.call(groups, function (b) { b.disabled = true; });
    history.forEach(function (m) { m.choicesDone = true; });
  }

  // One bubble. `entry`: {who: "user"|"bot"|"notice", text, kind, buttons, failed, choicesDone}
  function render(entry) {
    var who = entry.who;
    var kind = entry.kind || "";
    var cls = "msg " + who + (kind === "volunteer" ? " volunteer" : "") + (entry.failed ? " failed" : "");
    var bubble = el("div", { "class": cls });
    var prefix = who === "user" ? T.you : who === "notice" ? T.notice : kind === "volunteer" ? "" : T.bot;
    if (kind === "volunteer") {
      bubble.appendChild(el("span", { "class": "who" }, T.volunteer));
    } else {
      bubble.appendChild(el("span", { "class": "sr-only" }, prefix));
    }
    var body = el("span", { "class": "text" });
    appendRichText(body, entry.text || "");
    bubble.appendChild(body);
    if (entry.failed) {
      bubble.appendChild(el("span", { "class": "failed-note" }, T.notSent));
    }
    log.appendChild(bubble);
    if (entry.buttons && entry.buttons.length) {
      var group = el("div", { "class": "choices", role: "group", "aria-label": T.choices });
      entry.buttons.forEach(function (choice) {
        var b = el("button", { type: "button" }, choice.title);
        b.disabled = Boolean(entry.choicesDone);
        b.addEventListener("click", function () {
          send(choice.payload, choice.title).then(function () { input.focus(); });
        });
        group.appendChild(b);
      });
      log.appendChild(group);
    }
    scrollDown();
    return bubble;
  }

  function add(entry) {
    history.push(entry);
    save();
    return { bubble: render(entry), entry: entry };
  }

  // A message sent again after a lost answer is answered again from the conversation: show each reply once.
  var shownReplies = {};

  function addReplies(replies) {
    (replies || []).forEach(function (r) {
      if (!r || (typeof r.text !== "string" && !(r.buttons && r.buttons.length))) {
        return;
      }
      if (typeof r.reply_to === "string" && r.reply_to) {
        var key = r.reply_to + "|" + (r.kind || "") + "|" + (r.text || "");
        if (shownReplies[key]) {
          return;
        }
        shownReplies[key] = true;
      }
      var buttons = (r.buttons || []).filter(function (b) {
        return b && typeof b.title === "string" && typeof b.payload === "string";
      }).map(function (b) { return { title: b.title, payload: b.payload }; });
      add({ who: "bot", text: r.text || "", kind: r.kind || "", buttons: buttons });
    });
  }

  // ---- talking to the server ------------------------------------------------------------------------------------
  function request(path, options) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var opts = options || {};
    if (controller) {
      opts.signal = controller.signal;
    }
    opts.credentials = "omit";
    return fetch(endpoint + path, opts).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data || {} };
      });
    }).finally(function () {
      if (timer) {
        clearTimeout(timer);
      }
    });
  }

  var waiting = false;
  var handoff = false;
  // Network errors and server errors are retried with the same message id, so nothing is answered twice.
  var RETRY_DELAYS_MS = [1000, 3000];
  var lastFailed = null;

  function newMessageId() {
    return newSenderId().replace(/[^A-Za-z0-9_-]/g, "");
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function postChat(body, attempt) {
    return request("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (answer) {
      if (answer.status >= 500 && attempt < RETRY_DELAYS_MS.length) {
        return sleep(RETRY_DELAYS_MS[attempt]).then(function () { return postChat(body, attempt + 1); });
      }
      return answer;
    }, function (error) {
      if (attempt < RETRY_DELAYS_MS.length) {
        return sleep(RETRY_DELAYS_MS[attempt]).then(function () { return postChat(body, attempt + 1); });
      }
      throw error;
    });
  }

  function setWaiting(on) {
    waiting = on;
    typing.textContent = on ? T.typing : "";
    sendButton.setAttribute("aria-disabled", on ? "true" : "false");
  }

  function notice(text) {
    add({ who: "notice", text: text });
  }

  // Send one message; `shownAs` is what the resident's bubble says (a button's title instead of its payload).
  function send(message, shownAs) {
    if (waiting) {
      return Promise.resolve(false);
    }
    var text = String(message || "").trim();
    if (!text) {
      notice(T.empty);
      return Promise.resolve(false);
    }
    if (text.length > MAX_CHARS) {
      notice(T.tooLong);
      return Promise.resolve(false);
    }
    disableChoices();
    var sent = add({ who: "user", text: shownAs || text });
    setWaiting(true);
    // sending again what just failed keeps its id: if the first attempt did arrive, it is not answered twice
    var id = lastFailed && lastFailed.text === text ? lastFailed.id : newMessageId();
    lastFailed = null;
    return postChat({ sender: sender, message: text, id: id }, 0).then(function (answer) {
      if (!answer.ok) {
        // the server's own Vietnamese message for what the resident can fix (too long, too fast); else "busy"
        var problem = new Error(answer.status < 500 && typeof answer.data.error === "string" ? answer.data.error
          : T.busy);
        problem.fromServer = true;
        throw problem;
      }
      setWaiting(false);
      addReplies(answer.data.replies);
      var replies = answer.data.replies || [];
      handoff = Boolean(answer.data.handoff);
      if (handoff && !replies.length) {
        notice(T.forwarded);
      }
      startPolling();
      return true;
    }).catch(function (error) {
      setWaiting(false);
      lastFailed = { text: text, id: id };
      sent.entry.failed = true;
      sent.bubble.classList.add("failed");
      sent.bubble.appendChild(el("span", { "class": "failed-note" }, T.notSent));
      save();
      notice(error && error.fromServer ? error.message : T.busy);
      if (!shownAs && !input.value) {
        input.value = text; // keep what the resident typed, so trying again is one tap
      }
      return false;
    });
  }

  // ---- polling for what arrives later (a volunteer's words, answers held while the assistant was down) ----------
  var polling = false;
  var pollTimer = null;
  var unread = false;

  function setUnread(on) {
    unread = on;
    launcher.classList.toggle("has-unread", on);
    launcherUnread.textContent = on ? T.unread : "";
  }

  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    if (polling && !document.hidden) {
      pollTimer = setTimeout(poll, delay === undefined ? POLL_MS : delay);
    }
  }

  function poll() {
    if (waiting) {
      schedulePoll();
      return;
    }
    request("/api/inbox?sender=" + encodeURIComponent(sender), { method: "GET" }).then(function (answer) {
      if (answer.ok && Array.isArray(answer.data.replies) && answer.data.replies.length) {
        addReplies(answer.data.replies);
        if (panel.hidden) {
          setUnread(true);
        }
      }
      if (answer.ok) {
        handoff = Boolean(answer.data.handoff);
      }
    }).catch(function () {
      // offline for a moment: try again at the next tick
    }).then(function () { schedulePoll(); });
  }

  function startPolling() {
    if (!polling) {
      polling = true;
      schedulePoll();
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(pollTimer);
    } else {
      schedulePoll(0);
    }
  });

  // ---- opening, closing, keyboard -------------------------------------------------------------------------------
  function open() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    session.setItem(KEY_OPEN, "1");
    setUnread(false);
    scrollDown();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    session.setItem(KEY_OPEN, "0");
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) {
      notice(T.empty);
      input.focus();
      return;
    }
    if (waiting) {
      return;
    }
    input.value = "";
    send(text).then(function () { input.focus(); });
  });

  input.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition (Telex, VNI) is not a send
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit();
      } else {
        form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    }
  });

  clearButton.addEventListener("click", function () {
    if (!window.confirm(T.clearConfirm)) {
      return;
    }
    history = [];
    save();
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    sender = newSenderId();
    local.setItem(KEY_SENDER, sender);
    polling = false;
    clearTimeout(pollTimer);
    render({ who: "bot", text: T.welcome, kind: "welcome" });
    input.focus();
  });

  // ---- start ----------------------------------------------------------------------------------------------------
  function mount() {
    document.body.appendChild(host);
    render({ who: "bot", text: T.welcome, kind: "welcome" });
    history.forEach(render);
    if (history.length) {
      startPolling();
    }
    if (session.getItem(KEY_OPEN) === "1") {
      panel.hidden = false;
      launcher.hidden = true;
      launcher.setAttribute("aria-expanded", "true");
    }
  }

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})();
