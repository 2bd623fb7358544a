/** An event of a server-sent event stream. */
export interface SSEvent {
  event: string;
  id: string;
  data: string;
}

/**
 * SSEParser reads a server-sent event stream (the HTML standard's format) chunk by chunk: lines
 * end with LF, CRLF or CR, anywhere in a chunk; comments (lines starting with ":") and unknown
 * fields are skipped; an event ends at a blank line, and one with no data is dropped.
 */
export class SSEParser {
  private buf = '';
  private event = '';
  private id = '';
  private data: string[] = [];
  private pendingCR = false;

  /** push takes the next chunk and returns the events it completed. */
  push(chunk: string): SSEvent[] {
    if (this.pendingCR && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCR = false;
    this.buf += chunk;
    const out: SSEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      if (m[0] === '\r' && m.index === this.buf.length - 1) {
        this.pendingCR = true; // a CRLF may be split across chunks
      }
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string): SSEvent | undefined {
    if (line === '') {
      const ev = this.data.length ? { event: this.event || 'message', id: this.id, data: this.data.join('\n') } : undefined;
      this.event = '';
      this.data = [];
      return ev;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
    }
    return undefined;
  }
}
