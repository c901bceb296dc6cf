// Just enough of a DOM to run the status page's script outside a browser: elements with children,
// text, attributes, classes, `hidden`, `style` and a table's tBodies. There is no HTML parser here, so
// whatever the page shows must have gone in as text nodes (textContent), which is the point.
export class FakeElement {
  readonly children: (FakeElement | string)[] = [];
  readonly attributes = new Map<string, string>();
  readonly style: Record<string, string> = {};
  className = "";
  hidden = false;
  readonly tBodies: FakeElement[];
  readonly tagName: string;
  constructor(tagName: string) {
    this.tagName = tagName;
    this.tBodies = tagName === "table" ? [new FakeElement("tbody")] : [];
  }
  get textContent(): string {
    return this.children.map((c) => (typeof c === "string" ? c : c.textContent)).join("");
  }
  set textContent(text: string) {
    this.children.length = 0;
    if (text !== "") this.children.push(text);
  }
  setAttribute(name: string, value: string): void { this.attributes.set(name, String(value)); }
  getAttribute(name: string): string | null { return this.attributes.get(name) ?? null; }
  append(...nodes: (FakeElement | string)[]): void { this.children.push(...nodes); }
  replaceChildren(...nodes: (FakeElement | string)[]): void { this.children.length = 0; this.children.push(...nodes); }
  /** Child elements (text nodes left out). */
  get elements(): FakeElement[] { return this.children.filter((c): c is FakeElement => typeof c !== "string"); }
}

export interface FakeDocument {
  title: string;
  getElementById(id: string): FakeElement;
  createElement(tag: string): FakeElement;
}

/** A document with the page's elements; `tables` are the ids that are tables. */
export function fakeDocument(tables: readonly string[]): FakeDocument {
  const byId = new Map<string, FakeElement>();
  return {
    title: "",
    getElementById(id) {
      let e = byId.get(id);
      if (e === undefined) byId.set(id, (e = new FakeElement(tables.includes(id) ? "table" : "div")));
      return e;
    },
    createElement: (tag) => new FakeElement(tag),
  };
}

/** Runs the page script once against `doc` with status.json answering `report`; resolves after the first render. */
export async function renderOnce(script: string, doc: FakeDocument, report: unknown): Promise<void> {
  let rendered!: () => void;
  const done = new Promise<void>((r) => { rendered = r; });
  const fetch = async () => ({ ok: true, status: 200, json: async () => report });
  // The script polls again with setTimeout after each render: the first call means it has rendered.
  const setTimeout = () => rendered();
  new Function("document", "fetch", "setTimeout", script)(doc, fetch, setTimeout);
  await done;
}
