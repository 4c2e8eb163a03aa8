import { status } from '@grpc/grpc-js';

/** gRPC status names (all but OK), as carried by {@link FlightError}. */
export type FlightErrorCode =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

/**
 * An error with a gRPC status. Handlers throw it to answer with that status; the client
 * raises it with the status and message the server sent.
 */
export class FlightError extends Error {
  override readonly name = 'FlightError';

  constructor(
    readonly code: FlightErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The numeric gRPC status code. */
  get grpcCode(): status {
    return status[this.code];
  }

  static invalidArgument(message: string): FlightError {
    return new FlightError('INVALID_ARGUMENT', message);
  }
  static notFound(message: string): FlightError {
    return new FlightError('NOT_FOUND', message);
  }
  static alreadyExists(message: string): FlightError {
    return new FlightError('ALREADY_EXISTS', message);
  }
  static failedPrecondition(message: string): FlightError {
    return new FlightError('FAILED_PRECONDITION', message);
  }
  static unauthenticated(message: string): FlightError {
    return new FlightError('UNAUTHENTICATED', message);
  }
  static unimplemented(message: string): FlightError {
    return new FlightError('UNIMPLEMENTED', message);
  }
  static unavailable(message: string): FlightError {
    return new FlightError('UNAVAILABLE', message);
  }
  static resourceExhausted(message: string): FlightError {
    return new FlightError('RESOURCE_EXHAUSTED', message);
  }
  static internal(message: string): FlightError {
    return new FlightError('INTERNAL', message);
  }
  static cancelled(message: string): FlightError {
    return new FlightError('CANCELLED', message);
  }

  /** A FlightError from whatever a gRPC call failed with (a ServiceError or anything else). */
  static fromGrpc(err: unknown): FlightError {
    if (err instanceof FlightError) return err;
    const e = err as { code?: unknown; details?: unknown; message?: unknown } | null;
    if (e && typeof e.code === 'number' && typeof status[e.code] === 'string' && e.code !== status.OK) {
      const details = typeof e.details === 'string' ? e.details : String(e.message ?? '');
      return new FlightError(status[e.code] as FlightErrorCode, details);
    }
    return new FlightError('INTERNAL', err instanceof Error ? err.message : String(err));
  }
}
