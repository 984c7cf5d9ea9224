// Package session is the domain of hotspot: devices (by MAC), the NASes
// that may talk to us, the policy that limits a device, the grants the
// portal hands out, the sessions the NASes account for, and the per-device
// usage ledger per day, week or month, all kept in Redis.
//
// Policies (policy.go) say what a device may use where: an allowance of data
// and online time per window, and what happens when the data is used up
// (throttle or disconnect). The ledger counts every session of a device on
// every NAS; Account reports when a device has passed an allowance and one
// of its sessions has not been acted on yet, and ClaimEnforcement and
// FinishEnforcement hand those sessions out to the RADIUS server's CoA
// client one at a time, across instances. DeviceStatus and
// DeviceStatusByIP tell the portal and the RFC 8908 API what is left.
//
// The RADIUS server (package radius) and the captive portal (package
// portal) never import each other; they meet here. This package owns the
// Redis client's use: every key of one device carries the hash tag
// {d:<pseudonym>}, where the pseudonym is a keyed hash of the MAC, so that
// one Lua script per RADIUS request touches one hash slot (one round trip,
// also on Redis Cluster), and no key names a clear MAC. Every key has a
// TTL (a client-address hash whose EXPIRE was lost gets it back at its
// next write, see addressField), which is why Redis must not evict:
// CheckRedis warns of settings that lose state. Store methods return
// errors wrapping ErrUnavailable when Redis cannot be reached, so callers
// can tell an outage from a decision. ClaimLayout records the generation
// of the key layout (Layout) in Redis and refuses data in a newer one, so
// that instances of two builds never count the same usage differently.
//
// An accounting record is one script on the device's keys (scripts.go);
// the admin views' indexes, which span devices, are written in batches
// (index.go). Close writes what is still waiting. The RADIUS requests'
// commands go out through go-redis autopipeliners, which batch those of
// the requests in flight; further clients given to NewStore add
// autopipeliners that take turns with the first (see Store.pipes).
//
// Spooled wraps a Store for the RADIUS server: while Redis is out of
// reach (IsOutage), Account keeps records in a Spool on local disk, sealed,
// and Run applies them once Redis is back (spool.go, spooled.go).
package session
