/**
 * What the UI and `scion grow --list-methods` show about a growth method. A leaf file (no
 * imports): the contract re-exports it, so the renderer can type it without the engine.
 */
export interface MethodInfo {
  name: string;
  summary: string;
  exact: boolean | 'depends';
  kind: 'width' | 'depth' | 'both';
}
