declare module 'hpack.js' {
  interface Header {
    name: string;
    value: string;
    neverIndex: boolean;
  }
  interface Decompressor {
    write(block: Buffer): boolean;
    execute(): void;
    read(): Header | null;
    on(event: 'error', listener: (error: Error) => void): this;
  }
  const hpack: {
    decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
  };
  export default hpack;
}
