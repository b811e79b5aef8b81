// Runs the npm bittorrent-tracker server, WebSocket only, for the tests.
//
//   node tools/bittorrent-tracker.mjs NODE_MODULES [--port N] [--record FILE]
//        [--interval SECONDS]
//
// Listens on 127.0.0.1 (port 0 = any free port) and prints the port on the
// first line of stdout once it accepts connections.  --record appends every
// message a peer sends, as it arrived, to FILE: one JSON object a line,
// {"bytes":N,"binary":false,"text":"..."}, and {"refused":"..."} for every
// "failure reason" the tracker sent back.  --interval is the tracker's
// interval option (default 600 s, its own default); WebSocket peers are
// asked to announce every fifth of it (120 s by default).  Exits when stdin
// closes, so a test that dies does not leave a tracker behind.
//
// server.js is imported by path: the package index also loads the WebRTC
// client, whose native part `npm install --ignore-scripts` leaves out.
// SPDX-License-Identifier: LGPL-2.1-or-later
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2)
const modules = args[0]
let port = 0
let record = null
let interval = 600
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i])
  else if (args[i] === '--record') record = args[++i]
  else if (args[i] === '--interval') interval = Number(args[++i])
  else {
    console.error(`unknown argument ${args[i]}`)
    process.exit(2)
  }
}
if (!modules) {
  console.error('usage: bittorrent-tracker.mjs NODE_MODULES [--port N] ' +
    '[--record FILE] [--interval SECONDS]')
  process.exit(2)
}

const log = (entry) => {
  if (record) fs.appendFileSync(record, JSON.stringify(entry) + '\n')
}

const serverJs = path.resolve(modules, 'bittorrent-tracker', 'server.js')
const { default: Server } = await import(pathToFileURL(serverJs).href)
const server = new Server({
  http: false, udp: false, ws: true, stats: false, interval: interval * 1000
})

server.on('error', (err) => {
  console.error(`bittorrent-tracker: ${err.message}`)
  process.exit(1)
})
// Also sends that fail because a peer is closing: not worth a word.
server.on('warning', (err) => {
  console.error(`bittorrent-tracker warning: ${err.message}`)
})
server.ws.on('connection', (socket) => {
  // Messages are recorded as they came over the wire.
  socket.on('message', (data, isBinary) => {
    log({ bytes: data.length, binary: isBinary, text: data.toString('utf8') })
  })
  const send = socket.send.bind(socket)
  socket.send = (data, ...rest) => {
    if (String(data).includes('"failure reason"')) log({ refused: String(data) })
    return send(data, ...rest)
  }
})

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${server.ws.address().port}\n`)
})

// No graceful close: it would wait for peers to hang up.
const quit = () => process.exit(0)
process.on('SIGTERM', quit)
process.on('SIGINT', quit)
process.stdin.on('end', quit)
process.stdin.on('close', quit)
process.stdin.resume()
