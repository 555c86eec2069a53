// clientcard: live updates over Server-Sent Events. No build step; CSP script-src 'self'.
//
// Every page of a logged-in user (base.html renders #live) opens one stream: a card page
// /live/customers/{id} (the card's changes and the agent's screen pops), any other page
// /live/me (the screen pops). One connection per tab, since browsers open at most six per
// host over HTTP/1.1.
// - screen-pop: go to the caller's card, unless a form that writes (method post) has
//   unsaved input: then a banner with a link to the card, so that no typing is lost.
// - interaction / timeline / resync on a card: with the Timeline tab shown, its list is
//   fetched again (the first page with the filters in use) and new items are put on top,
//   leaving the rest, the pages loaded with "Load more" and the note being typed alone;
//   on another tab the Timeline tab gets a "new" badge.
(function () {
  "use strict";

  const live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  const CARD_URL = /^\/customers\/\d+$/;
  let source = null;
  let sourceUrl = null;

  function cardId() {
    const card = document.getElementById("card");
    return card && card.dataset.customerId ? card.dataset.customerId : null;
  }

  function connect() {
    const id = cardId();
    const url = id ? "/live/customers/" + id : live.dataset.stream;
    if (source && sourceUrl === url && source.readyState !== EventSource.CLOSED) return;
    if (source) source.close();
    delete live.dataset.connected;
    sourceUrl = url;
    source = new EventSource(url);
    source.addEventListener("ready", function () { live.dataset.connected = url; });
    source.addEventListener("screen-pop", onScreenPop);
    source.addEventListener("interaction", function () { timelineChanged(false); });
    source.addEventListener("timeline", function () { timelineChanged(true); });
    source.addEventListener("resync", function () { timelineChanged(true); });
    source.addEventListener("logout", function () { source.close(); delete live.dataset.connected; });
  }

  // ---- the screen pop ----------------------------------------------------------------

  function selectChanged(select) {
    const options = Array.from(select.options);
    if (select.multiple) return options.some(function (o) { return o.selected !== o.defaultSelected; });
    const initial = options.findIndex(function (o) { return o.defaultSelected; });
    return options.length > 0 && select.selectedIndex !== (initial === -1 ? 0 : initial);
  }

  function fieldChanged(el) {
    if (el.disabled || ["hidden", "submit", "button", "reset"].includes(el.type)) return false;
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") return selectChanged(el);
    if (el.type === "file") return !!(el.files && el.files.length);
    return "defaultValue" in el && el.value !== el.defaultValue;
  }

  // Forms that write hold work; searches and filters (GET) do not.
  function hasUnsavedInput() {
    return Array.from(document.forms).some(function (form) {
      const writes = (form.getAttribute("method") || "").toLowerCase() === "post" ||
        form.hasAttribute("hx-post");
      return writes && Array.from(form.elements).some(fieldChanged);
    });
  }

  function onScreenPop(event) {
    const pop = JSON.parse(event.data);
    const url = pop.url;
    if (!CARD_URL.test(url) || window.location.pathname === url) return;
    if (!hasUnsavedInput()) {
      window.location.assign(url);
      return;
    }
    live.querySelector(".screen-pop-title").textContent =
      pop.channel === "voice" ? live.dataset.call : live.dataset.chat;
    live.querySelector(".screen-pop-link").setAttribute("href", url);
    live.hidden = false;
  }

  live.querySelector(".screen-pop-dismiss").addEventListener("click", function () { live.hidden = true; });

  // ---- the card's timeline -----------------------------------------------------------

  let fetching = false;
  let again = null;  // a change that came while fetching: null, "merge" or "replace"

  function timelineTab() {
    return document.querySelector('.tabs a[data-tab="timeline"]') ||
      document.querySelector('.tabs a[href$="/timeline"]');
  }

  function markTimelineTab() {
    const tab = timelineTab();
    if (!tab || tab.querySelector(".live-new")) return;
    const badge = document.createElement("span");
    badge.className = "badge live-new";
    badge.textContent = live.dataset.new;
    tab.append(" ", badge);
  }

  function clearTimelineTab() {
    const panel = document.getElementById("tab-panel");
    if (!panel || panel.dataset.tab !== "timeline") return;
    document.querySelectorAll(".tabs .live-new").forEach(function (badge) { badge.remove(); });
  }

  function timelineChanged(replace) {
    const panel = document.getElementById("tab-panel");
    if (!panel || !cardId()) return;
    if (panel.dataset.tab !== "timeline") { markTimelineTab(); return; }
    if (fetching) { again = replace || again === "replace" ? "replace" : "merge"; return; }
    refreshTimeline(replace);
  }

  function keys(list) {
    return new Set(Array.from(list.querySelectorAll("li[data-key]")).map(function (li) { return li.dataset.key; }));
  }

  function find(list, li) {
    return list.querySelector('li[data-key="' + li.dataset.key + '"]');
  }

  function refreshTimeline(replace) {
    const id = cardId();
    const filters = /\/timeline$/.test(window.location.pathname) ? window.location.search : "";
    fetching = true;
    fetch("/customers/" + id + "/timeline" + filters, {
      headers: { "HX-Request": "true", "HX-Target": "tab-panel" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error("timeline " + response.status);
      return response.text();
    }).then(function (html) {
      const panel = document.getElementById("tab-panel");
      if (!panel || panel.dataset.tab !== "timeline" || cardId() !== id) return;
      const fresh = new DOMParser().parseFromString(html, "text/html");
      const freshList = fresh.getElementById("timeline");
      const list = document.getElementById("timeline");
      if (!freshList) return;
      if (!list || replace) {
        const old = list || panel.querySelector("p.empty");
        const adopted = document.importNode(freshList, true);
        if (old) old.replaceWith(adopted); else panel.append(adopted);
        if (window.htmx) window.htmx.process(adopted);
        return;
      }
      // Each new item goes where the fresh page puts it: before the next item already
      // shown (an interaction may have started earlier than the newest shown).
      const held = keys(list);
      const freshItems = Array.from(freshList.querySelectorAll("li[data-key]"));
      freshItems.forEach(function (li, index) {
        if (held.has(li.dataset.key)) return;
        const item = document.importNode(li, true);
        item.classList.add("tl-live");
        const shown = function (n) { return held.has(n.dataset.key); };
        const next = freshItems.slice(index + 1).find(shown);
        const previous = freshItems.slice(0, index).reverse().find(shown);
        if (next) list.insertBefore(item, find(list, next));
        else if (previous) find(list, previous).after(item);
        else list.prepend(item);
        held.add(li.dataset.key);
        if (window.htmx) window.htmx.process(item);
      });
    }).catch(function () {
      markTimelineTab();
    }).finally(function () {
      fetching = false;
      if (again !== null) {
        const replaceNext = again === "replace";
        again = null;
        timelineChanged(replaceNext);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", connect);
  if (document.readyState !== "loading") connect();
  document.addEventListener("htmx:afterSettle", function () { connect(); clearTimelineTab(); });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) connect(); });
})();
