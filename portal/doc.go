// Package portal is the captive portal: the web pages a phone's browser is
// sent to by the access controller (the NAS) before it may use the network.
//
// The flow for CoovaChilli, the reference controller:
//
//  1. The NAS redirects the browser to GET / with its parameters (res,
//     uamip, uamport, challenge, mac, nasid, userurl, …) and md, an MD5 over
//     the redirect URL and the NAS's uamsecret. The portal finds the NAS,
//     checks md, so that nobody but the NAS can choose the MAC or the
//     challenge, and renders the terms of use with an accept form.
//  2. POST /accept carries the parameters back with an HMAC token the
//     portal made in step 1. The portal stores a grant through Store and
//     answers 303 to http://uamip:uamport/logon with the grant's username
//     and a CHAP response (or an obscured PAP password).
//  3. The NAS logs the device in through the RADIUS server, which checks the
//     grant, and redirects the browser to GET /?res=success.
//
// After the login, GET /?res=success or res=already shows what the device
// has left (Store.DeviceStatus); a device with nothing left gets the quota
// page instead of the terms.
//
// A MikroTik hotspot (a NAS of kind mikrotik with a login_url) hands the
// browser over from its own login page to GET /mikrotik instead: the same
// terms, quota page and accept form, then a 303 to the NAS's login_url
// with an HTTP-CHAP (or PAP) password. Nothing signs a MikroTik's
// parameters, so the portal takes its pages and their forms only from the
// NAS's networks (the router masquerades its clients), shows no allowance
// for the MAC they name, bounds the grants a minute per router, and sends
// the browser only to the configured login_url (mikrotik.go).
//
// Pages are server-rendered from package assets (or an operator's overrides
// directory laid over them), localized in ten languages (German by default)
// with numbers and dates written the language's way, and need neither
// JavaScript nor cookies. The terms of use are the operator's files, whose
// VERSION is the terms version the session store binds grants to (Terms).
// Every response carries a strict Content-Security-Policy.
//
// Admin is the other listener, for the network team, on a management
// network: /healthz, /readyz, /metrics and the JSON admin API under /api/v1
// (sessions, disconnect, devices, stats), described by openapi.json and
// authenticated by bearer tokens whose hashes and roles (viewer, operator)
// are configured in AdminConfig. It sends Disconnect-Requests through a
// Disconnecter that main connects to the RADIUS server.
//
// The portal never imports radius; both meet in session.
package portal
