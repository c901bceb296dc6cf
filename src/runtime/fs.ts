// File access for the layers that may not import node:fs themselves (geo database, TLS files, store).
// node:fs works the same on Node, Bun and Deno, so there is one implementation.
import { access, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { statSync } from "node:fs";

export async function readFileBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

export async function readFileText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/** Modification time in ms, or null when the file does not exist. */
export async function modifiedAt(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Device + inode of the file at `path` ("dev:ino"), or null when it does not exist. Synchronous. */
export function fileIdentitySync(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Replaces `path` with `text` whole: written beside it, then renamed over it (readers never see half). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    await writeFile(temp, text, "utf8");
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}
