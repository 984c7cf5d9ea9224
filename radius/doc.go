// Package radius is the hotspot's RADIUS server: it authorises the devices
// that the access controllers (NASes) let onto the network, collects their
// accounting, and renders each session's limits in the attributes the NAS
// understands.
//
// It speaks RADIUS over UDP with layeh.com/radius for the packet format and
// adds what that library leaves out:
//
//   - Message-Authenticator (RFC 3579, RFC 2869 §5.14): verified on every
//     request that carries one, required on Access-Requests by default
//     (BlastRADIUS, CVE-2024-3596), and the first attribute of every reply.
//   - A bounded serve loop: one reader per socket, a fixed pool of workers,
//     a queue that drops on overload, and panics contained to a packet.
//   - Duplicate detection with a response cache (RFC 5080), so that a NAS's
//     retransmit is answered with the same bytes and never runs the store
//     twice.
//
// It is also an RFC 5176 client (coa.go): Disconnect and Throttle send a
// NAS a Disconnect-Request or CoA-Request for one of its sessions, and the
// server's live quota enforcement (enforce.go) uses them when accounting
// puts a device over its allowance.
//
// What a request means for a device (grants, remembered devices, quotas)
// is decided by package session; this package turns packets into its
// requests and its decisions into packets. A request the store cannot
// answer gets no reply at all, so the NAS retries or fails over to
// another server rather than locking a device out.
//
// Vendor attributes that layeh lacks live in vendors/, generated from
// dictionary files with layeh's radius-dict-gen.
package radius
