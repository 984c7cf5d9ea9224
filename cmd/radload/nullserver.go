package main

import (
	"context"
	"errors"
	"net"

	"golang.org/x/sync/errgroup"
	"layeh.com/radius"
)

// nullServer is the floor of the benchmark: a layeh/radius server that
// accepts every Access-Request and answers every Accounting-Request without
// doing anything else. Whatever a real server costs beyond it is its own
// work. It runs until ctx ends.
func nullServer(ctx context.Context, auth, acct net.PacketConn, secret string) error {
	handler := radius.HandlerFunc(func(w radius.ResponseWriter, r *radius.Request) {
		code := radius.CodeAccessAccept
		if r.Code == radius.CodeAccountingRequest {
			code = radius.CodeAccountingResponse
		}
		w.Write(r.Response(code))
	})
	g, ctx := errgroup.WithContext(ctx)
	for _, c := range []net.PacketConn{auth, acct} {
		s := &radius.PacketServer{Handler: handler, SecretSource: radius.StaticSecretSource([]byte(secret))}
		g.Go(func() error {
			if err := s.Serve(c); err != nil && !errors.Is(err, radius.ErrServerShutdown) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return s.Shutdown(context.Background())
		})
	}
	return g.Wait()
}
