/** Small DOM helpers shared by both pages. */

/** the element with this id; the page's HTML is ours, so a missing one is a build mistake */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from the page`);
  return e as T;
}

/** sets text only when it changed: no needless layout, no needless screen-reader churn */
export function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

export function show(e: HTMLElement, visible: boolean): void {
  if (e.hidden === visible) e.hidden = !visible;
}

/** moves focus to a heading (or any element) that is not focusable by itself */
export function focusHeading(e: HTMLElement): void {
  if (!e.hasAttribute('tabindex')) e.setAttribute('tabindex', '-1');
  e.focus({ preventScroll: false });
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}
