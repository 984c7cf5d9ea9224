# rlm_redis pointed at the benchmark redis-server (loopback, a free port
# that mkraddb.sh fills in).
redis {
	server = 127.0.0.1
	port = @REDIS_PORT@
	query_timeout = 5
	pool {
		start = ${thread[pool].start_servers}
		min = ${thread[pool].min_spare_servers}
		max = ${thread[pool].max_servers}
		spare = ${thread[pool].max_spare_servers}
		uses = 0
		retry_delay = 30
		lifetime = 86400
		cleanup_interval = 300
		idle_timeout = 600
	}
}
