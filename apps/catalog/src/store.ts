import { inTransaction, type Pool, type PoolClient } from '@chainlake/postgres';

/** A registered table: where its current metadata file is, and which version that is. */
export interface TableRow {
  namespace: string;
  name: string;
  tableUuid: string;
  location: string;
  metadataLocation: string;
  metadataVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface CommitRecord {
  namespace: string;
  name: string;
  tableUuid: string;
  kind: 'create' | 'commit' | 'drop' | 'rename';
  metadataVersion: number;
  metadataLocation: string;
  previousMetadataLocation: string | null;
  snapshotIds: number[];
}

/** A commit announcement waiting to be published on NATS (the outbox). */
export interface PendingAnnouncement {
  id: string;
  subject: string;
  msgId: string;
  payload: unknown;
}

const SCHEMA_LOCK = 0x6361_7461; // 'cata': one migration at a time when replicas start together

const DDL = `
CREATE TABLE IF NOT EXISTS iceberg_namespaces (
  name text PRIMARY KEY,
  properties jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS iceberg_tables (
  namespace text NOT NULL REFERENCES iceberg_namespaces (name),
  name text NOT NULL,
  table_uuid uuid NOT NULL UNIQUE,
  location text NOT NULL UNIQUE,
  metadata_location text NOT NULL,
  metadata_version integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS iceberg_commits (
  id bigserial PRIMARY KEY,
  namespace text NOT NULL,
  name text NOT NULL,
  table_uuid uuid NOT NULL,
  kind text NOT NULL,
  metadata_version integer NOT NULL,
  metadata_location text NOT NULL,
  previous_metadata_location text,
  snapshot_ids bigint[] NOT NULL DEFAULT '{}',
  committed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS iceberg_commits_table ON iceberg_commits (table_uuid, id);
CREATE TABLE IF NOT EXISTS iceberg_announcements (
  id bigserial PRIMARY KEY,
  commit_id bigint NOT NULL REFERENCES iceberg_commits (id),
  subject text NOT NULL,
  msg_id text NOT NULL UNIQUE,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX IF NOT EXISTS iceberg_announcements_pending ON iceberg_announcements (id) WHERE published_at IS NULL;
`;

type Queryable = Pool | PoolClient;

interface TableRecord {
  namespace: string;
  name: string;
  table_uuid: string;
  location: string;
  metadata_location: string;
  metadata_version: number;
  created_at: Date;
  updated_at: Date;
}

const TABLE_COLUMNS = 'namespace, name, table_uuid, location, metadata_location, metadata_version, created_at, updated_at';

const toTableRow = (r: TableRecord): TableRow => ({
  namespace: r.namespace,
  name: r.name,
  tableUuid: r.table_uuid,
  location: r.location,
  metadataLocation: r.metadata_location,
  metadataVersion: r.metadata_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * The catalog's state in PostgreSQL (in the pool's schema): namespaces, the metadata pointer of every table,
 * a log of every change and the outbox of commit announcements. `transaction` gives the same methods on one
 * connection inside BEGIN … COMMIT.
 */
export class CatalogStore {
  private readonly db: Queryable;

  private constructor(
    private readonly pool: Pool,
    /** Set on the store a transaction hands out. */
    private readonly client?: PoolClient,
  ) {
    this.db = client ?? pool;
  }

  /** Creates the tables if missing. */
  static async open(pool: Pool): Promise<CatalogStore> {
    await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(DDL);
    });
    return new CatalogStore(pool);
  }

  transaction<T>(fn: (tx: CatalogStore) => Promise<T>): Promise<T> {
    if (this.client) throw new Error('already in a transaction');
    return inTransaction(this.pool, (client) => fn(new CatalogStore(this.pool, client)));
  }

  async listNamespaces(): Promise<string[]> {
    const { rows } = await this.db.query<{ name: string }>('SELECT name FROM iceberg_namespaces ORDER BY name');
    return rows.map((r) => r.name);
  }

  /** With `lock`, the row stays locked until the transaction ends: `share` keeps it from being dropped, `update` from anything. */
  async namespaceProperties(name: string, lock?: 'share' | 'update'): Promise<Record<string, string> | undefined> {
    const suffix = lock === 'share' ? ' FOR SHARE' : lock === 'update' ? ' FOR UPDATE' : '';
    const { rows } = await this.db.query<{ properties: Record<string, string> }>(
      `SELECT properties FROM iceberg_namespaces WHERE name = $1${suffix}`,
      [name],
    );
    return rows[0]?.properties;
  }

  /** False when it already exists. */
  async createNamespace(name: string, properties: Record<string, string>): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'INSERT INTO iceberg_namespaces (name, properties) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [name, JSON.stringify(properties)],
    );
    return rowCount === 1;
  }

  async setNamespaceProperties(name: string, properties: Record<string, string>): Promise<void> {
    await this.db.query('UPDATE iceberg_namespaces SET properties = $2, updated_at = now() WHERE name = $1', [name, JSON.stringify(properties)]);
  }

  async dropNamespace(name: string): Promise<void> {
    await this.db.query('DELETE FROM iceberg_namespaces WHERE name = $1', [name]);
  }

  async countTables(namespace: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM iceberg_tables WHERE namespace = $1', [namespace]);
    return rows[0]!.n;
  }

  async listTables(namespace?: string): Promise<TableRow[]> {
    const { rows } =
      namespace === undefined
        ? await this.db.query<TableRecord>(`SELECT ${TABLE_COLUMNS} FROM iceberg_tables ORDER BY namespace, name`)
        : await this.db.query<TableRecord>(`SELECT ${TABLE_COLUMNS} FROM iceberg_tables WHERE namespace = $1 ORDER BY name`, [namespace]);
    return rows.map(toTableRow);
  }

  /** With `forUpdate`, other commits to the table wait until this transaction ends. */
  async table(namespace: string, name: string, forUpdate = false): Promise<TableRow | undefined> {
    const { rows } = await this.db.query<TableRecord>(
      `SELECT ${TABLE_COLUMNS} FROM iceberg_tables WHERE namespace = $1 AND name = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [namespace, name],
    );
    return rows[0] && toTableRow(rows[0]);
  }

  /** A table whose location is `location`, or lies inside it, or contains it. */
  async tableOverlapping(location: string): Promise<TableRow | undefined> {
    const { rows } = await this.db.query<TableRecord>(
      `SELECT ${TABLE_COLUMNS} FROM iceberg_tables
       WHERE location = $1 OR starts_with(location, $1 || '/') OR starts_with($1, location || '/') LIMIT 1`,
      [location],
    );
    return rows[0] && toTableRow(rows[0]);
  }

  /** False when the name (or the location) is taken. */
  async insertTable(row: Pick<TableRow, 'namespace' | 'name' | 'tableUuid' | 'location' | 'metadataLocation' | 'metadataVersion'>): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO iceberg_tables (namespace, name, table_uuid, location, metadata_location, metadata_version)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [row.namespace, row.name, row.tableUuid, row.location, row.metadataLocation, row.metadataVersion],
    );
    return rowCount === 1;
  }

  async moveTablePointer(namespace: string, name: string, pointer: { location: string; metadataLocation: string; metadataVersion: number }): Promise<void> {
    await this.db.query(
      `UPDATE iceberg_tables SET location = $3, metadata_location = $4, metadata_version = $5, updated_at = now()
       WHERE namespace = $1 AND name = $2`,
      [namespace, name, pointer.location, pointer.metadataLocation, pointer.metadataVersion],
    );
  }

  async renameTable(from: { namespace: string; name: string }, to: { namespace: string; name: string }): Promise<void> {
    await this.db.query('UPDATE iceberg_tables SET namespace = $3, name = $4, updated_at = now() WHERE namespace = $1 AND name = $2', [
      from.namespace,
      from.name,
      to.namespace,
      to.name,
    ]);
  }

  async deleteTable(namespace: string, name: string): Promise<void> {
    await this.db.query('DELETE FROM iceberg_tables WHERE namespace = $1 AND name = $2', [namespace, name]);
  }

  /** Appends to the commit log; returns the entry's id. */
  async recordCommit(record: CommitRecord): Promise<string> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO iceberg_commits (namespace, name, table_uuid, kind, metadata_version, metadata_location, previous_metadata_location, snapshot_ids)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [
        record.namespace,
        record.name,
        record.tableUuid,
        record.kind,
        record.metadataVersion,
        record.metadataLocation,
        record.previousMetadataLocation,
        record.snapshotIds.map(String),
      ],
    );
    return rows[0]!.id;
  }

  async queueAnnouncement(commitId: string, announcement: Omit<PendingAnnouncement, 'id'>): Promise<PendingAnnouncement> {
    const { rows } = await this.db.query<{ id: string }>(
      'INSERT INTO iceberg_announcements (commit_id, subject, msg_id, payload) VALUES ($1, $2, $3, $4) RETURNING id',
      [commitId, announcement.subject, announcement.msgId, JSON.stringify(announcement.payload)],
    );
    return { id: rows[0]!.id, ...announcement };
  }

  /** Unpublished announcements older than `minAgeMs`, locked (skipping ones another replica holds) until the transaction ends. */
  async claimPendingAnnouncements(minAgeMs: number, limit: number): Promise<PendingAnnouncement[]> {
    const { rows } = await this.db.query<{ id: string; subject: string; msg_id: string; payload: unknown }>(
      `SELECT id, subject, msg_id, payload FROM iceberg_announcements
       WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1::double precision / 1000)
       ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [minAgeMs, limit],
    );
    return rows.map((r) => ({ id: r.id, subject: r.subject, msgId: r.msg_id, payload: r.payload }));
  }

  async countPendingAnnouncements(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM iceberg_announcements WHERE published_at IS NULL');
    return rows[0]!.n;
  }

  async markAnnounced(id: string): Promise<void> {
    await this.db.query('UPDATE iceberg_announcements SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1', [id]);
  }

  async markAnnounceFailed(id: string, error: string): Promise<void> {
    await this.db.query('UPDATE iceberg_announcements SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [id, error]);
  }
}
