// The server's text frames, written to the socket in one piece. `ws` sends a frame as two chunks
// (its header, then the payload) inside cork()/uncork(), so every answer went through the stream's
// buffered-write path and a writev of two buffers; one buffer takes the plain write path instead.
// Only text frames from server to client are built here: unmasked (RFC 6455 §5.1: a server must not
// mask), never compressed (the gateway refuses permessage-deflate), never fragmented. Control frames
// (ping, pong, close) stay with `ws`, which writes each of them whole, in order with these.

/**
 * RFC 6455 §5.2: FIN + opcode 1 (text), then the payload length in 7 bits, or 126 and 16 bits, or
 * 127 and 64 bits (network byte order), then the payload as UTF-8.
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const head = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81;
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    // High 32 bits: 0. A JavaScript string (under 2^29 UTF-16 units) is under 2^32 bytes in UTF-8.
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  frame.write(text, head, 'utf8');
  return frame;
}
