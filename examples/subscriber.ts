/**
 * A subscriber to flowinit's status topic through the package's client API:
 * the services' states once it is live, then one line per state change, and
 * a line whenever messages were lost and a fresh snapshot replaced them.
 *
 * Run as a service (see services.yaml) it finds its own daemon in
 * FLOWINIT_CONTROL and FLOWINIT_STATUS; run by hand it uses the defaults.
 */
import { Client, defaultEndpoint, subscribe, type Snapshot } from "flowinit";

const states = (s: Snapshot) => s.services.map((x) => `${x.name}=${x.state}`).join(" ");

const ac = new AbortController();
process.on("SIGTERM", () => ac.abort());
process.on("SIGINT", () => ac.abort());

// With `control`, the iteration opens with a snapshot, and a gap in `seq` brings a fresh one (`missed` > 0).
const control = new Client();
for await (const m of subscribe(defaultEndpoint("status"), { topics: ["event"], control, signal: ac.signal })) {
  if (m.topic === "event") {
    const { from, to, reason } = m.data;
    // A gate's flip is an event of no service.
    const who = m.data.service === null ? `gate ${m.data.gate}` : m.data.service;
    console.log(`${who}: ${from} -> ${to} (${reason})`);
  } else if (m.topic === "status") {
    console.log(`subscriber: ${m.missed ? `missed ${m.missed} messages; ` : ""}now ${states(m.data)}`);
  }
}
console.log("subscriber: stopped");
