// Open-loop load for bench-api (capacity/openloop.py): loadtest's requestsPerSecond
// mode starts each request on a fixed schedule whether or not the earlier ones have
// been answered, opening connections as needed, so a server that falls behind meets
// a growing queue rather than a client that politely waits (no coordinated omission).
// Usage: node openloop.mjs URL RATE SECONDS TIMEOUT_MS; the bearer token comes from
// $OPENLOOP_BEARER_TOKEN. Prints loadtest's result as one JSON object.
import {loadTest} from 'loadtest'

const [url, rate, seconds, timeoutMs] = process.argv.slice(2)
const token = process.env.OPENLOOP_BEARER_TOKEN
const result = await loadTest({
	url,
	requestsPerSecond: Number(rate),
	maxSeconds: Number(seconds),
	timeout: Number(timeoutMs),
	agentKeepAlive: true,
	headers: token ? {authorization: `Bearer ${token}`} : {},
	quiet: true,
})
console.log(JSON.stringify(result))
