"""`{{name}}`: a formatter. The title, then one `name: value` line per
field, then the venue and symbol; plain text."""

from dataclasses import dataclass

from klaxon_sdk import Formatter, Message, export_formatter


@dataclass
class Params:
    prefix: str = ""  # put before every title, e.g. "[prod] "


class Plugin(Formatter):
    Params = Params

    def __init__(self, p: Params):
        self.prefix = p.prefix

    def format(self, alert):
        title = f"{self.prefix}{alert.title}"
        lines = [f"[{alert.severity.as_str().upper()}] {title}"]
        lines += [f"{f.name}: {f.value}" for f in alert.fields]
        lines.append(f"{alert.event.venue} {alert.event.symbol}")
        return Message.plain(title, "\n".join(lines))


export_formatter(Plugin)
