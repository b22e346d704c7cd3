// Entry of a compute thread when Scion runs from its TypeScript sources: registers tsx in
// this thread (loader hooks are per thread in Node 20), then loads thread.ts. A bundled app
// starts its bundled thread entry instead (see pool.ts).
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
