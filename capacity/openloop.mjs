// Open-loop load for bench-api (capacity/openloop.py): loadtest's requestsPerSecond
// mode starts each request on a fixed schedule whether or not the earlier ones have
// been answered, opening connections as needed, so a server that falls behind meets
// a growing queue rather than a client that politely waits (no coordinated omission).
// Usage: node openloop.mjs URL RATE SECONDS TIMEOUT_MS; the bearer token comes from
// $OPENLOOP_BEARER_TOKEN. Prints loadtest's result as one JSON object, with what
// loadtest does not say: how many requests it sent before its deadline
// (sentRequests) and how long each one still unanswered then had waited
// (waitingAtStopMs), on loadtest's own clock.
import {loadTest} from 'loadtest'

const [url, rate, seconds, timeoutMs] = process.argv.slice(2)
const token = process.env.OPENLOOP_BEARER_TOKEN
const nowMs = () => Number(process.hrtime.bigint()) / 1e6
const sentAt = []
const doneAt = []
const result = await loadTest({
	url,
	requestsPerSecond: Number(rate),
	maxSeconds: Number(seconds),
	timeout: Number(timeoutMs),
	agentKeepAlive: true,
	headers: token ? {authorization: `Bearer ${token}`} : {},
	quiet: true,
	requestGenerator: (options, params, request, callback) => {
		const index = sentAt.push(nowMs()) - 1
		doneAt.push(Infinity)
		const sending = request(params, callback)
		sending.once('close', () => { doneAt[index] = nowMs() })
		return sending
	},
})
const stop = result.stopTimeMs
const waitingAtStopMs = []
let sentRequests = 0
sentAt.forEach((sent, index) => {
	if (sent > stop) return
	sentRequests += 1
	if (doneAt[index] > stop) waitingAtStopMs.push(Math.round(stop - sent))
})
console.log(JSON.stringify({...result, sentRequests, waitingAtStopMs}))
