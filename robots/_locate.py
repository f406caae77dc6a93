"""The in-page half of `robots.forms`: one JavaScript function that finds form fields and
buttons by what a person reads (labels, ARIA names, placeholders, nearby text), in one round trip.

It is called with `{specs, buttons, within, token, mark, labelsOnly}` and returns, for each field
spec, how many distinct controls match and of which kinds; only when every spec matches exactly
one control (and `mark` is true) does it tag them with `data-proctor-field="<token>:<index>"`,
so that a refused form is left exactly as it was found. With `labelsOnly`, a field's names are
only the labels tied to it (`<label>`, `aria-label`, `aria-labelledby`): no placeholder, title
or nearby text.
"""

from __future__ import annotations

LOCATE_JS = r"""
(arg) => {
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim()
    .replace(/[\s:*]+$/, '').replace(/^[\s*]+/, '').trim().toLowerCase();
  const root = arg.within ? document.querySelector(arg.within) : document.body;
  if (!root) return {scope: false, fields: [], buttons: []};
  const CONTROLS = 'input, select, textarea, [contenteditable=""], [contenteditable="true"], ' +
    '[role=textbox], [role=searchbox], [role=checkbox], [role=switch], [role=radio], ' +
    '[role=combobox], [role=spinbutton], [role=slider], [role=listbox]';
  const NOT_FIELDS = new Set(['hidden', 'submit', 'button', 'reset', 'image', 'file']);
  const TEXTLIKE = new Set(['text', 'search', 'email', 'tel', 'url', '']);
  const visible = (el) => {
    if (!el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const kindOf = (el) => {
    const tag = el.tagName.toLowerCase();
    const role = (el.getAttribute('role') || '').toLowerCase();
    if (tag === 'input') {
      const t = (el.getAttribute('type') || 'text').toLowerCase();
      if (TEXTLIKE.has(t)) return 'text';
      if (t === 'datetime-local') return 'datetime';
      return t;
    }
    if (tag === 'select' || tag === 'textarea') return tag;
    if (role === 'switch') return 'checkbox';
    if (role === 'searchbox' || role === 'textbox' || el.isContentEditable) return 'text';
    return role || 'text';
  };
  // Text a person reads on an element, leaving out what sits inside controls (option lists).
  const ownText = (el) => {
    let out = '';
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest('select, option, textarea, script, style')) continue;
      out += ' ' + n.data;
    }
    return norm(out);
  };
  const byIds = (ids) => (ids || '').split(/\s+/).filter(Boolean)
    .map((id) => document.getElementById(id)).filter(Boolean).map(ownText).join(' ');
  const namesOf = (el, tiedOnly = false) => {
    const names = [];
    if (el.getAttribute('aria-label')) names.push(norm(el.getAttribute('aria-label')));
    const by = el.getAttribute('aria-labelledby');
    if (by) names.push(norm(byIds(by)));
    for (const label of (el.labels || [])) names.push(ownText(label));
    if (tiedOnly) return names;
    if (el.getAttribute('placeholder')) names.push(norm(el.getAttribute('placeholder')));
    if (el.getAttribute('title')) names.push(norm(el.getAttribute('title')));
    return names;
  };
  const controls = Array.from(root.querySelectorAll(CONTROLS)).filter((el) => {
    if (el.tagName === 'INPUT' && NOT_FIELDS.has((el.type || '').toLowerCase())) return false;
    return visible(el);
  });
  const between = (a, b) => {
    const range = document.createRange();
    range.setStartAfter(a);
    range.setEndBefore(b);
    return norm(range.toString());
  };
  // The control a piece of text labels: the only control of a close ancestor, or else the first
  // control after the text with no other text in between.
  const nearbyControl = (textEl) => {
    let node = textEl;
    for (let level = 0; level < 3 && node.parentElement; level++) {
      node = node.parentElement;
      const inside = controls.filter((c) => node.contains(c) && !c.contains(textEl));
      if (inside.length === 1) return inside[0];
      if (inside.length > 1) {
        const after = inside.filter((c) =>
          textEl.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING);
        return after.length && between(textEl, after[0]) === '' ? after[0] : null;
      }
    }
    return null;
  };
  // Elements made of exactly one piece of wanted text, outside controls and the explicit labels.
  const textElements = (wanted) => {
    const found = [];
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const text = norm(n.data);
      if (!text || !wanted.has(text)) continue;
      const el = n.parentElement;
      if (el.closest('select, option, textarea, button, script, style')) continue;
      if (el.tagName === 'LABEL' && el.control) continue;
      if (ownText(el) !== text || !visible(el)) continue;  // text inside a longer sentence
      found.push([text, el]);
    }
    return found;
  };
  const wanted = new Set(arg.specs.flatMap((s) => s.names));
  const texts = arg.labelsOnly ? [] : textElements(wanted);
  const fields = arg.specs.map((spec) => {
    const names = new Set(spec.names);
    let matches = new Set();
    if (names.size === 0) {
      controls.forEach((c) => matches.add(c));
    } else {
      for (const c of controls) {
        if (namesOf(c, arg.labelsOnly).some((n) => names.has(n))) matches.add(c);
      }
      for (const [text, el] of texts) {
        if (!names.has(text)) continue;
        const c = nearbyControl(el);
        if (c) matches.add(c);
      }
    }
    if (spec.kind) matches = new Set([...matches].filter((c) => kindOf(c) === spec.kind));
    const list = [...matches];
    return {count: list.length, kinds: list.map(kindOf), elements: list,
            options: list.length === 1 && list[0].tagName === 'SELECT'
              ? Array.from(list[0].options).map((o) => [o.label.trim(), o.value]) : null};
  });
  // Things to click: buttons and links by name; else visible text that looks clickable.
  const CLICKABLE = 'button, input[type=submit], input[type=button], input[type=reset], ' +
    'input[type=image], [role=button], a[href], [role=link], [role=menuitem], [role=tab]';
  const clickName = (el) => {
    const names = namesOf(el);
    names.push(el.tagName === 'INPUT' ? norm(el.value || el.getAttribute('alt')) : ownText(el));
    return names;
  };
  const buttons = (arg.buttons || []).map((spec) => {
    const names = new Set(spec.names);
    let list = Array.from(root.querySelectorAll(CLICKABLE))
      .filter((el) => visible(el) && clickName(el).some((n) => names.has(n)));
    if (list.length === 0) {
      list = Array.from(root.querySelectorAll('*')).filter((el) => names.has(ownText(el)) &&
        visible(el) && getComputedStyle(el).cursor === 'pointer' &&
        !Array.from(el.children).some((c) => names.has(ownText(c))));
    }
    return {count: list.length, elements: list};
  });
  const unique = fields.every((f) => f.count === 1) && buttons.every((b) => b.count === 1);
  if (arg.mark && unique) {
    const tag = (el, id) => el.setAttribute('data-proctor-field', arg.token + ':' + id);
    fields.forEach((f, i) => tag(f.elements[0], i));
    buttons.forEach((b, i) => tag(b.elements[0], 'b' + i));
  }
  const strip = (xs) => xs.map(({elements, ...rest}) => rest);
  return {scope: true, marked: !!(arg.mark && unique), fields: strip(fields),
          buttons: strip(buttons)};
}
"""

# True once every field and button has at least one candidate: what a form that is still
# rendering waits for (the page's own state, not a sleep).
ALL_PRESENT_JS = (
    "(arg) => { const r = (" + LOCATE_JS + ")(arg); "
    "return r.scope && r.fields.every((f) => f.count > 0) && r.buttons.every((b) => b.count > 0); }"
)
