// A plain Node.js chat relay on the `ws` package: what many people would
// pick instead of Parley. It speaks the subset of Parley's protocol that the
// load generator uses (hello/join/send -> welcome/joined/message/ack), keeps
// rooms in a Map of Sets, numbers messages per room, and sends each message
// to the other members with one JSON.stringify and one ws.send each.
// No history, no persistence, no limits: the fastest a simple relay gets.
//
//   node relay.js PORT   (listens on 127.0.0.1 only)

'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 8090);
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', perMessageDeflate: false });
const rooms = new Map(); // name -> { seq, members: Set<ws> }
let sessions = 0;

function room(name) {
  let r = rooms.get(name);
  if (!r) {
    r = { seq: 0, members: new Set() };
    rooms.set(name, r);
  }
  return r;
}

wss.on('connection', (ws) => {
  ws.nick = null;
  ws.rooms = new Set();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      ws.send(JSON.stringify({ type: 'error', code: 'bad_json', message: 'not JSON' }));
      return;
    }
    switch (frame.type) {
      case 'hello':
        ws.nick = String(frame.nick);
        sessions += 1;
        ws.send(JSON.stringify({
          type: 'welcome', nick: ws.nick, session: 's_' + sessions, resume: '', resumed: false, rooms: [],
          limits: { max_text_chars: 2000, max_frame_bytes: 16384, rate_burst: 0, rate_per_sec: 0, typing_ttl_ms: 6000, resume_grace_ms: 0 },
        }));
        break;
      case 'join': {
        const r = room(String(frame.room));
        r.members.add(ws);
        ws.rooms.add(String(frame.room));
        ws.send(JSON.stringify({ type: 'joined', room: frame.room, members: [], history: [], more: false, last_seq: r.seq }));
        break;
      }
      case 'send': {
        const r = rooms.get(String(frame.room));
        if (!r || !r.members.has(ws)) {
          ws.send(JSON.stringify({ type: 'error', code: 'not_joined', message: 'join first', cid: frame.cid }));
          return;
        }
        r.seq += 1;
        const ts = Date.now();
        const out = JSON.stringify({ type: 'message', room: frame.room, seq: r.seq, nick: ws.nick, text: frame.text, ts, cid: frame.cid });
        for (const member of r.members) {
          if (member !== ws && member.readyState === 1) member.send(out);
        }
        ws.send(JSON.stringify({ type: 'ack', cid: frame.cid, room: frame.room, seq: r.seq, ts }));
        break;
      }
      case 'ping':
        ws.send(JSON.stringify({ type: 'pong', id: frame.id }));
        break;
      default:
        ws.send(JSON.stringify({ type: 'error', code: 'unknown_type', message: 'unknown type' }));
    }
  });
  ws.on('close', () => {
    for (const name of ws.rooms) {
      const r = rooms.get(name);
      if (r) r.members.delete(ws);
    }
  });
});

wss.on('listening', () => console.log(`node ws relay listening on ws://127.0.0.1:${port}/ws`));
