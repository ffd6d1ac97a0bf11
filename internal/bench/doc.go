// Package bench measures a Mass network: it starts n nodes on this machine
// (separate `mass start` processes over libp2p; the same daemons in this
// process, for a CPU profile; or in this process over the in-memory
// transport and stores), drives load at a fixed rate (open loop) or as fast
// as it commits (closed loop, a bounded number in flight), and reports the
// committed transactions per second, the commit latency percentiles, the CPU
// time and the bytes sent per transaction, and the nodes' peak memory
// (`mass bench`). Sweep runs a series of sizes and rates up to saturation
// and draws the latency–throughput and cost-per-transaction charts as
// hand-written SVG (`mass bench sweep`).
//
// How each figure is measured:
//   - Throughput: the transactions node 0 commits during the measurement
//     window (after a warm-up), divided by its length.
//   - Latency: from the submission call of a transaction to the commit
//     notification of node 0 (its event stream, or node.Subscribe in
//     process); every transaction submitted in the window is tracked (no
//     sampling), and the window's transactions still uncommitted after a
//     drain are counted as unfinished.
//   - CPU: processes: utime+stime of the node processes (/proc/PID/stat).
//     In process: the process's CPU time (getrusage) minus that of the load
//     generator's goroutines, which are locked to their own threads and read
//     from /proc/self/task/TID/schedstat; the garbage they make, and (inproc)
//     the HTTP client's connection goroutines, are still counted.
//   - Bytes: the transports' payload bytes sent, all nodes together (libp2p
//     framing and encryption not included).
//   - Memory: VmHWM of each node process; in process, of the whole process.
//
// Every process the bench starts is stopped with SIGTERM and waited for,
// also on an error or a cancelled context; the kernel kills them if the
// bench itself dies (a parent-death signal).
//
// The package imports the node runtime (node, daemon, home, the
// applications, stores and transports); nothing imports it but cmd/mass.
package bench
