/**
 * XML in and out. Responses are built by hand with every text escaped (a key may hold any character, '<' and
 * '&' included; characters XML 1.0 cannot carry are written as character references only where S3 would,
 * otherwise the listing uses encoding-type=url). Requests are parsed with fast-xml-parser: entity processing
 * off (no expansion, no billion laughs), any DOCTYPE refused, the size bounded before parsing and the nesting
 * depth bounded; the five predefined entities and numeric character references are decoded by us, which is
 * all XML without a DTD can contain.
 */
import { XMLParser } from 'fast-xml-parser';

import { S3Error } from './s3-error.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Escapes text or an attribute value. Control characters XML 1.0 forbids become numeric references, which an
 *  XML 1.0 parser still rejects, so keys holding them should be listed with encoding-type=url (as S3 advises). */
export function esc(s: string): string {
  return s.replace(/[<>&"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '&': return '&amp;';
      case '"': return '&quot;';
      case "'": return '&apos;';
      default: return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

/** A node of a response document: [name, text] or [name, children]; undefined children are skipped. */
export type XmlNode = [string, string | number | boolean | ReadonlyArray<XmlNode | undefined>];

function render(node: XmlNode, out: string[]): void {
  const [name, value] = node;
  if (Array.isArray(value)) {
    out.push(`<${name}>`);
    for (const child of value as ReadonlyArray<XmlNode | undefined>) if (child !== undefined) render(child, out);
    out.push(`</${name}>`);
  } else {
    out.push(`<${name}>${esc(String(value))}</${name}>`);
  }
}

/** `<?xml ...?><Root xmlns="...">children</Root>` */
export function xmlDocument(root: string, children: ReadonlyArray<XmlNode | undefined>, xmlns: string | null = S3_XMLNS): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n', xmlns === null ? `<${root}>` : `<${root} xmlns="${xmlns}">`];
  for (const child of children) if (child !== undefined) render(child, out);
  out.push(`</${root}>`);
  return out.join('');
}

const parser = new XMLParser({
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: false,
  removeNSPrefix: true,
  // Every element may repeat (Object, Part): always arrays, so one Object is not a different shape from two.
  isArray: () => true,
});

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/g, (m, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: {
        const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
      }
    }
  });
}

/** The nesting depth of an XML text, counted without building anything (a bound checked before parsing). */
function depthOf(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) {
    const next = text[i + 1];
    if (next === '?' || next === '!') continue; // declaration, comment, CDATA (DOCTYPE is refused before)
    if (next === '/') {
      depth--;
      continue;
    }
    const close = text.indexOf('>', i);
    if (close === -1) break;
    if (text[close - 1] !== '/') {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    }
  }
  return deepest;
}

/** A parsed element: text content, or named children (each an array, in document order of that name). */
export type XmlElement = { [name: string]: XmlElement[] | string } | string;

/** Parses an S3 request body. Throws MalformedXML (400) for anything that is not well-formed, bounded XML. */
export function parseXml(body: Buffer, opts: { depthMax: number; bytesMax: number }): Record<string, XmlElement[]> {
  if (body.length > opts.bytesMax) throw new S3Error('MalformedXML', 400, `The XML body is larger than ${opts.bytesMax} bytes.`);
  const text = body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new S3Error('MalformedXML', 400, 'The XML body must not contain a document type declaration.');
  if (depthOf(text, opts.depthMax) > opts.depthMax) throw new S3Error('MalformedXML', 400, `The XML body is nested deeper than ${opts.depthMax} levels.`);
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch {
    throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
  }
  const fix = (v: unknown): XmlElement => {
    if (typeof v === 'string') return unescapeXml(v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v === null || typeof v !== 'object') return '';
    const out: Record<string, XmlElement[] | string> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (k === '#text') {
        out[k] = unescapeXml(String(Array.isArray(val) ? val.join('') : val));
        continue;
      }
      out[k] = (Array.isArray(val) ? val : [val]).map(fix);
    }
    return out;
  };
  const root = fix(doc);
  if (typeof root === 'string') throw new S3Error('MalformedXML', 400, 'The XML body has no root element.');
  return root as Record<string, XmlElement[]>;
}

/** Children named `name` of an element (empty when absent or when the element is text). */
export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  if (el === undefined || typeof el === 'string') return [];
  const v = el[name];
  return Array.isArray(v) ? v : [];
}

/** The text of the single child `name` (undefined when absent; MalformedXML when repeated or not text). */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  const c = children(el, name);
  if (c.length === 0) return undefined;
  if (c.length > 1) throw new S3Error('MalformedXML', 400, `The element ${name} appears more than once.`);
  const v = c[0]!;
  if (typeof v === 'string') return v;
  if (Object.keys(v).length === 0) return '';
  if (typeof v['#text'] === 'string' && Object.keys(v).length === 1) return v['#text'];
  throw new S3Error('MalformedXML', 400, `The element ${name} must hold text.`);
}
