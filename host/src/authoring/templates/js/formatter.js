// `{{name}}`: a formatter. The title, then one `name: value` line per
// field, then the venue and symbol; plain text.

import { Formatter, Message, exportFormatter, p } from './klaxon-sdk/index.js';

export class Plugin extends Formatter {
  static params = { prefix: p.string('') };

  constructor(params) {
    super();
    this.prefix = params.prefix;
  }

  format(alert) {
    const title = `${this.prefix}${alert.title}`;
    const lines = [`[${alert.severity.toUpperCase()}] ${title}`];
    for (const f of alert.fields) lines.push(`${f.name}: ${f.value}`);
    lines.push(`${alert.event.venue} ${alert.event.symbol}`);
    return Message.plain(title, lines.join('\n'));
  }
}

exportFormatter(Plugin);
