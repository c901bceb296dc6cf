// File access for the layers that may not import node:fs themselves (geo database, TLS files).
import { readFile, stat } from "node:fs/promises";

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
