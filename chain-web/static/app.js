// chain: live updates and copy buttons. Pages work without this script; it listens to the server's events
// (/api/v1/events) and refreshes the parts that change. Everything is written with textContent,
// never as HTML, so nothing from the chain can become markup.
(function () {
  'use strict';
  var page = document.body.dataset.page;

  // Copy buttons: the text of their data-copy attribute to the clipboard.
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    button.addEventListener('click', function () {
      if (!navigator.clipboard) { return; }
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = 'Copied';
      });
    });
  });

  function coins(units) {
    var s = String(units);
    while (s.length < 9) { s = '0' + s; }
    return s.slice(0, -8) + '.' + s.slice(-8);
  }
  function cut(text, n) { return text.length > n ? text.slice(0, n) + '...' : text; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function link(href, text, cls) { var a = el('a', text, cls); a.href = href; return a; }
  function set(id, text) { var e = document.getElementById(id); if (e) { e.textContent = text; } }
  function get(path) {
    return fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error(path + ': ' + r.status); } return r.json(); });
  }
  function ago(time) {
    var s = Math.max(0, Math.floor(Date.now() / 1000) - time);
    if (s < 60) { return s + ' s ago'; }
    if (s < 3600) { return Math.floor(s / 60) + ' min ago'; }
    return Math.floor(s / 3600) + ' h ago';
  }
  // At most one refresh of a kind in flight, and at most two a second.
  function throttled(fn) {
    var busy = false, again = false;
    function run() {
      busy = true; again = false;
      Promise.resolve(fn()).catch(function () {}).then(function () {
        setTimeout(function () { busy = false; if (again) { run(); } }, 500);
      });
    }
    return function () { if (busy) { again = true; } else { run(); } };
  }

  var refreshBlocks = throttled(function () {
    var body = document.getElementById('live-blocks');
    if (!body) { return; }
    var limit = page === 'explorer' ? 20 : 10;
    return get('/api/v1/blocks?limit=' + limit).then(function (blocks) {
      var first = body.querySelector('tr td a');
      var known = first ? first.textContent : '';
      while (body.firstChild) { body.removeChild(body.firstChild); }
      blocks.forEach(function (b) {
        var tr = el('tr');
        if (String(b.height) !== known && known !== '' && b.height > Number(known)) { tr.className = 'fresh'; }
        var td = el('td'); td.appendChild(link('/block/' + b.height, String(b.height))); tr.appendChild(td);
        td = el('td', undefined, 'mono'); td.appendChild(link('/block/' + b.hash, cut(b.hash, 16))); tr.appendChild(td);
        tr.appendChild(el('td', ago(b.time)));
        tr.appendChild(el('td', String(b.tx_count)));
        td = el('td', undefined, 'mono'); td.appendChild(link('/address/' + b.miner, cut(b.miner, 20))); tr.appendChild(td);
        body.appendChild(tr);
      });
    });
  });

  var refreshStatus = throttled(function () {
    if (!document.getElementById('stat-height') && !document.getElementById('node-height')) { return; }
    return get('/api/v1/status').then(function (s) {
      set('stat-height', String(s.height));
      set('node-height', String(s.height));
      set('stat-peers', String(s.peers));
      set('stat-mempool', String(s.mempool_transfers));
      var tip = document.getElementById('stat-tip');
      if (tip) { tip.textContent = s.tip; tip.href = '/block/' + s.tip; }
    });
  });

  function addTransfer(txid) {
    var list = document.getElementById('live-transfers');
    if (!list) { return; }
    var li = el('li', undefined, 'fresh');
    li.appendChild(link('/tx/' + txid, cut(txid, 20), 'mono'));
    li.appendChild(el('span', 'pending', 'status pending'));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 10) { list.removeChild(list.lastChild); }
  }

  var refreshTx = throttled(function () {
    var status = document.getElementById('tx-status');
    if (!status) { return; }
    return get('/api/v1/transfers/' + status.dataset.txid).then(function (t) {
      var block = document.getElementById('tx-block');
      if (t.status.state === 'confirmed') {
        var n = t.status.confirmations;
        status.textContent = 'confirmed in block ' + t.status.height + ' (' + n + ' confirmation' + (n === 1 ? '' : 's') + ')';
        status.className = 'status confirmed';
        if (block) {
          while (block.firstChild) { block.removeChild(block.firstChild); }
          block.appendChild(link('/block/' + t.status.block, String(t.status.height)));
        }
      } else {
        status.textContent = 'pending';
        status.className = 'status pending';
      }
    });
  });

  var refreshAccount = throttled(function () {
    var box = document.getElementById('balances');
    if (!box) { return; }
    return get('/api/v1/addresses/' + box.dataset.address).then(function (a) {
      set('balance-confirmed', coins(a.balance));
      set('balance-pending-in', coins(a.pending_in));
      set('balance-pending-out', coins(a.pending_out));
      set('balance-available', coins(Math.max(0, a.balance - a.pending_out)));
    });
  });

  function onBlock() { refreshBlocks(); refreshStatus(); refreshTx(); refreshAccount(); }
  function onTransfer(e) {
    try { addTransfer(JSON.parse(e.data).txid); } catch (ignored) { /* not ours to fix */ }
    refreshStatus(); refreshTx(); refreshAccount();
  }

  // One event stream per page, closed as the page is left. A browser holds at most six
  // connections to a host; a stream left open by each page visited (kept alive in the
  // back/forward cache) would use them all and stall the next navigation.
  var events = null;
  function listen() {
    if (!window.EventSource || events) { return; }
    var live = document.getElementById('live');
    events = new EventSource('/api/v1/events');
    events.onopen = function () { if (live) { live.className = 'live on'; live.title = 'live'; } };
    events.onerror = function () { if (live) { live.className = 'live'; live.title = 'reconnecting'; } };
    events.addEventListener('block', onBlock);
    events.addEventListener('reorg', onBlock);
    events.addEventListener('transfer', onTransfer);
  }
  function stop() { if (events) { events.close(); events = null; } }
  window.addEventListener('pagehide', stop);
  window.addEventListener('pageshow', function (e) { if (e.persisted) { listen(); onBlock(); } });
  listen();
  // A receipt also polls, in case an event was missed while the connection was down.
  if (page === 'tx') { setInterval(refreshTx, 3000); }
})();
