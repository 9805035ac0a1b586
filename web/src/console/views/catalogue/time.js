// Times the catalogue sections send: RFC 3339 with the browser's offset
// (the API wants an offset; the picker shows the browser's local time).
function pad(n) {
  return String(n).padStart(2, '0');
}

export function offsetText(d = new Date()) {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return `${off >= 0 ? '+' : '-'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

export function rfc3339(d) {
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${offsetText(d)}`
  );
}

// Now, to the minute (a new version's default start: in force at once).
export function thisMinute() {
  const d = new Date();
  d.setSeconds(0, 0);
  return d;
}

// Is an RFC 3339 time still ahead?
export function isAhead(s) {
  const t = Date.parse(s);
  return Number.isFinite(t) && t > Date.now();
}

// The default catalogue's rates are in force "from the start" (epoch 0).
export function fromTheStart(s) {
  const t = Date.parse(s);
  return Number.isFinite(t) && t <= 0;
}
