// Package ledger is one node's ledger as a pure, deterministic state
// machine, in the spirit of etcd raft's RawNode: everything a node decides
// above the consensus core (package epoch) and below the application.
//
// It owns the eras (the node sets and the epoch each starts at), the
// block each epoch's batch becomes, the node's vote on it, the
// collection of votes into certificates, the catch-up from peers'
// certified blocks, the messages kept for later epochs or eras, the
// transactions accepted and not yet committed, the replay of the
// epoch log after a restart, and each era's threshold keys, generated
// through the log from key transactions that never reach the application
// (keys.go), which switch the era to the threshold coin.
//
// # Inputs and the Ready
//
// A driver (package node on a real machine, package nodesim in the
// simulator) gives it inputs: Submit (a client's transaction), Tick (the
// clock), Receive (a peer's message) and Applied (the application's result
// for a block it was handed). What the ledger wants done accumulates in a
// Ready, which the driver takes and does in order: make the log records
// and store writes durable; tell the transport its peers; send; apply the
// block to the application and report it; tell subscribers. Nothing leaves
// the node before the records it depends on are durable. The driver does
// every Ready, and reports every block applied, before the next input
// (MustFlush); the ledger refuses an input otherwise (ErrNotDrained).
//
// The ledger reads the node's store (its records, the certified chain) but
// never writes it: its writes are in the Ready. It reads no clock and
// draws no randomness of its own (Config.Entropy seeds what it draws), so
// the same inputs give the same Readies.
//
// # Crash safety
//
// A node never contradicts what it sent before a crash, and never loses a
// committed block:
//   - Each proposal it makes and each consensus message it handles is in
//     the epoch log before any message they caused is sent. On restart the
//     engine runs again every epoch whose block is not certified (peers may
//     still need it), replaying the log into a fresh engine held from
//     proposing, which then sends exactly what it sent before. An epoch's
//     log goes once its block is certified.
//   - A block it applied and signed is recorded before its vote leaves; on
//     restart it signs that block again, never another at that height.
//   - The application is handed one block at a time, the next only with
//     the Ready that records the one before: it is never more than one
//     block ahead of the records, and a restart re-applies what it lost.
//   - Accepted transactions are recorded until committed, so an accepted
//     transaction is never forgotten; a node that leaves the node set hands
//     its own on to the new set.
//
// # Liveness
//
// A node fetches certified blocks when f+1 peers are beyond its horizon,
// when a peer is certified beyond what it applied and it applies nothing,
// and when a peer is certified beyond it and its own certified height has
// not moved for a while: it applied blocks but missed their votes (peers
// drop votes at or below their certified height), so only fetching brings
// the certificates. Package nodesim shows each of these matters.
//
// The package imports the protocol, chain, app and store contracts; it
// never imports a transport, a store or an application implementation.
package ledger
