/** Renderer entry: the bridge (Electron preload or scion serve's WebSocket), Pinia, the app. */
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { connectBridge } from './bridge/bridge.ts';
import { useAppStore } from './stores/app.ts';
import { useJobsStore } from './stores/jobs.ts';
import './styles.css';

const app = createApp(App).use(createPinia());
const bridge = connectBridge();
const jobs = useJobsStore();
bridge.onEvent((e) => jobs.handle(e));
void useAppStore()
  .connect(bridge)
  .then(() => jobs.sync());
app.mount('#app');
