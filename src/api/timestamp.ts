/**
 * Timestamps the way containerd expects them. containerd's Go types use `time.Time`, whose zero
 * value (0001-01-01T00:00:00Z) means "not set"; a shim sends it explicitly for a process that has
 * not exited, because containerd 1.7+ reads an absent timestamp as 1970-01-01 instead.
 *
 * containerd counterpart: `github.com/containerd/containerd/protobuf` (`FromTimestamp`, `ToTimestamp`)
 * and gogo's `stdtime` non-nullable timestamps in containerd 1.6.
 */
import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";

/** Seconds of Go's zero time (0001-01-01T00:00:00Z) relative to the Unix epoch. */
export const GO_ZERO_TIME_SECONDS = -62135596800n;

/**
 * Go's zero time as a protobuf Timestamp: `{seconds: -62135596800n, nanos: 0}`. Frozen; encodes
 * inside StateResponse as `52 0b 08 80 92 b8 c3 98 fe ff ff ff 01`.
 */
export const GO_ZERO_TIME: Timestamp = Object.freeze(
  create(TimestampSchema, { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 }),
);

/** A Timestamp for `date` (millisecond precision), or {@link GO_ZERO_TIME} for undefined ("never"). */
export function toTimestamp(date: Date | undefined): Timestamp {
  return date === undefined ? GO_ZERO_TIME : timestampFromDate(date);
}

/** True when `ts` is absent or Go's zero time, i.e. containerd means "not set". */
export function isGoZeroTime(ts: Timestamp | undefined): boolean {
  return ts === undefined || (ts.seconds === GO_ZERO_TIME_SECONDS && ts.nanos === 0);
}

/** The Date of a Timestamp, or undefined when it is absent or Go's zero time. */
export function fromTimestamp(ts: Timestamp | undefined): Date | undefined {
  return ts === undefined || isGoZeroTime(ts) ? undefined : timestampDate(ts);
}
