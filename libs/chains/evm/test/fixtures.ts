import type { RpcBlock, RpcReceipt } from '../src/index.js';

// Hand-written responses shaped as eth_getBlockByNumber(n, true) and eth_getBlockReceipts return them.
const h = (c: string) => `0x${c.repeat(64)}`;
const a = (c: string) => `0x${c.repeat(40)}`;

export const hashes = {
  block16: h('1'),
  block15: h('0'),
  block17: h('2'),
  tx1559: h('a'),
  txCreate: h('b'),
  txFailed: h('c'),
  txPreBerlin: h('d'),
};

export const addresses = { miner: a('e'), alice: a('1'), bob: a('2'), token: a('3'), created: a('4') };

const transferTopic = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
const padded = (address: string) => `0x${'0'.repeat(24)}${address.slice(2)}`;

export const blocks: RpcBlock[] = [
  {
    number: '0x10',
    hash: hashes.block16,
    parentHash: hashes.block15,
    timestamp: '0x65920080', // 2024-01-01T00:00:00Z
    miner: addresses.miner,
    gasUsed: '0x2f9b8',
    gasLimit: '0x1c9c380',
    extraData: '0x6265617665726275696c642e6f7267',
    baseFeePerGas: '0x3b9aca00',
    nonce: '0x0000000000000000',
    transactions: [
      {
        blockHash: hashes.block16,
        blockNumber: '0x10',
        transactionIndex: '0x0',
        hash: hashes.tx1559,
        nonce: '0x2a',
        from: addresses.alice,
        to: addresses.token,
        value: '0x56bc75e2d63100000', // 100 ether: above 2^64 wei
        input: '0xa9059cbb',
        gas: '0x186a0',
        gasPrice: '0x3b9aca01',
        type: '0x2',
        maxPriorityFeePerGas: '0x1',
        maxFeePerGas: '0x77359400',
        chainId: '0x1',
      },
      {
        blockHash: hashes.block16,
        blockNumber: '0x10',
        transactionIndex: '0x1',
        hash: hashes.txCreate,
        nonce: '0x0',
        from: addresses.bob,
        to: null,
        value: '0x0',
        input: '0x6080604052',
        gas: '0x30d40',
        gasPrice: '0x3b9aca02',
        type: '0x2',
        maxPriorityFeePerGas: '0x2',
        maxFeePerGas: '0x77359400',
      },
      {
        blockHash: hashes.block16,
        blockNumber: '0x10',
        transactionIndex: '0x2',
        hash: hashes.txFailed,
        nonce: '0x7',
        from: addresses.alice,
        to: addresses.bob,
        value: '0xde0b6b3a7640000', // 1 ether
        input: '0x',
        gas: '0x5208',
        gasPrice: '0x4a817c800',
        type: '0x0',
      },
    ],
  },
  {
    number: '0x11',
    hash: hashes.block17,
    parentHash: hashes.block16,
    timestamp: '0x6592008c',
    miner: addresses.miner,
    gasUsed: '0x5208',
    gasLimit: '0x1c9c380',
    extraData: '0x',
    transactions: [
      {
        blockNumber: '0x11',
        transactionIndex: '0x0',
        hash: hashes.txPreBerlin,
        nonce: '0x8',
        from: addresses.alice,
        to: addresses.bob,
        value: '0x1',
        input: '0x',
        gas: '0x5208',
        gasPrice: '0x4a817c800',
      },
    ],
  },
];

export const receipts: RpcReceipt[][] = [
  [
    {
      transactionHash: hashes.tx1559,
      transactionIndex: '0x0',
      blockNumber: '0x10',
      gasUsed: '0xfde8',
      effectiveGasPrice: '0x3b9aca01',
      status: '0x1',
      type: '0x2',
      logs: [
        {
          address: addresses.token,
          topics: [transferTopic, padded(addresses.alice), padded(addresses.bob), h('f')],
          data: '0x',
          blockNumber: '0x10',
          transactionHash: hashes.tx1559,
          transactionIndex: '0x0',
          logIndex: '0x0',
          removed: false,
        },
        {
          address: addresses.token,
          topics: [],
          data: `0x${'00'.repeat(31)}64`,
          blockNumber: '0x10',
          transactionHash: hashes.tx1559,
          transactionIndex: '0x0',
          logIndex: '0x1',
          removed: false,
        },
      ],
    },
    {
      transactionHash: hashes.txCreate,
      transactionIndex: '0x1',
      blockNumber: '0x10',
      gasUsed: '0x1adb0',
      contractAddress: addresses.created,
      status: '0x1',
      logs: [
        {
          address: addresses.created,
          topics: [h('9')],
          data: '0x',
          blockNumber: '0x10',
          transactionHash: hashes.txCreate,
          transactionIndex: '0x1',
          logIndex: '0x2',
        },
      ],
    },
    { transactionHash: hashes.txFailed, transactionIndex: '0x2', blockNumber: '0x10', gasUsed: '0x5208', status: '0x0', logs: [] },
  ],
  [{ transactionHash: hashes.txPreBerlin, transactionIndex: '0x0', blockNumber: '0x11', gasUsed: '0x5208', status: '0x1', logs: [] }],
];

export { transferTopic, padded };
