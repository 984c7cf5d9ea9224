package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"hotspot/portal"
)

// maxResponse bounds what hotspotctl reads from the server.
const maxResponse = 64 << 20

// apiError is an error response of the admin API.
type apiError struct {
	status int
	body   portal.APIErrorBody
}

func (e *apiError) Error() string {
	if e.body.Code == "" {
		return fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.body.Code, e.body.Message)
}

// token returns the bearer token from -token-file or HOTSPOT_ADMIN_TOKEN.
func (c *cli) token() (string, error) {
	if c.opts.tokenFile != "" {
		b, err := os.ReadFile(c.opts.tokenFile)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("token file %s is empty", c.opts.tokenFile)
	}
	if t := strings.TrimSpace(c.getenv("HOTSPOT_ADMIN_TOKEN")); t != "" {
		return t, nil
	}
	return "", errors.New("no token: set HOTSPOT_ADMIN_TOKEN or use -token-file")
}

// call sends method path?query to the admin API and returns the response
// body of a 2xx answer; any other answer is an *apiError.
func (c *cli) call(ctx context.Context, method, path string, query url.Values) ([]byte, error) {
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(c.opts.server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("-server %q is not an http or https URL", c.opts.server)
	}
	u := base.JoinPath(path)
	u.RawQuery = query.Encode()
	ctx, cancel := context.WithTimeout(ctx, c.opts.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{status: resp.StatusCode}
		var doc portal.APIError
		if json.Unmarshal(body, &doc) == nil {
			e.body = doc.Error
		}
		return nil, e
	}
	return body, nil
}

// get calls the API and decodes the answer into v; raw is the body.
func (c *cli) get(ctx context.Context, method, path string, query url.Values, v any) (raw []byte, err error) {
	raw, err = c.call(ctx, method, path, query)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, fmt.Errorf("decode response: %w", err)
		}
	}
	return raw, nil
}

// printJSON writes raw, a JSON document, indented.
func (c *cli) printJSON(raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("response is not JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := c.stdout.Write(b.Bytes())
	return err
}
