// Compiles contracts/src with the solc-js pinned in package.json (standard JSON, optimizer on)
// and writes contracts/out/<Contract>.json with the ABI, the creation bytecode and the compiler
// version. `--check` recompiles and exits non-zero if the committed artifacts differ.
//
//   npm install --prefix contracts && node contracts/build.mjs [--check]
//
// Imports resolve through the remappings below to the vendored sources under contracts/lib.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.CONTRACTS_ROOT ? path.resolve(process.env.CONTRACTS_ROOT) : here;
const solc = createRequire(path.join(here, 'package.json'))('solc');
const check = process.argv.includes('--check');

/**
 * Two compilations, each with its own import remappings, because the two trees pin different
 * OpenZeppelin majors (the vendored middleware uses 4.9, account-abstraction 0.7 needs 5.0):
 * - `middleware`: our AVS contracts against the vendored EigenLayer middleware (`lib/`);
 * - `aa`: the ERC-4337 EntryPoint and SimpleAccountFactory from the npm package
 *   `@account-abstraction/contracts` (0.7.0, pinned in package.json), our session-key account
 *   (`src/aa/`) and the ERC-1967 proxy whose creation code fixes the accounts' addresses.
 * Each contract is written to out/<name>.json.
 */
const AA = 'node_modules/@account-abstraction/contracts/';
const OZ5 = 'node_modules/@openzeppelin/contracts/';
const MIDDLEWARE = 'lib/eigenlayer-middleware/';
const GROUPS = [
  {
    contracts: [['src/AttestationTaskManager.sol', 'AttestationTaskManager']],
    remappings: [
      `eigenlayer-middleware/=${MIDDLEWARE}`,
      `eigenlayer-contracts/=${MIDDLEWARE}lib/eigenlayer-contracts/`,
      `@openzeppelin/=${MIDDLEWARE}lib/openzeppelin-contracts/`,
      `@openzeppelin-upgrades/=${MIDDLEWARE}lib/openzeppelin-contracts-upgradeable/`,
    ],
  },
  {
    contracts: [
      [`${AA}core/EntryPoint.sol`, 'EntryPoint'],
      [`${AA}samples/SimpleAccountFactory.sol`, 'SimpleAccountFactory'],
      ['src/aa/SessionKeyAccount.sol', 'SessionKeyAccount'],
      ['src/aa/SessionKeyAccountFactory.sol', 'SessionKeyAccountFactory'],
      ['src/aa/WalletTarget.sol', 'WalletTarget'],
      [`${OZ5}proxy/ERC1967/ERC1967Proxy.sol`, 'ERC1967Proxy'],
    ],
    remappings: [`@account-abstraction/contracts/=${AA}`, `@openzeppelin/contracts/=${OZ5}`],
  },
];
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'shanghai',
  metadata: { bytecodeHash: 'ipfs' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

/** Source unit names are paths relative to the contracts directory; nothing outside it. */
const loaded = new Set();
function findImport(name) {
  const file = path.resolve(root, name);
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file)) {
    return { error: `not found under ${root}: ${name}` };
  }
  loaded.add(name);
  return { contents: fs.readFileSync(file, 'utf8') };
}

/** Compiles one group; exits on a compile error. */
function compile(group) {
  const sources = {};
  for (const [unit] of group.contracts) {
    sources[unit] = { content: fs.readFileSync(path.join(root, unit), 'utf8') };
  }
  const settings = { ...SETTINGS, remappings: group.remappings };
  const input = { language: 'Solidity', sources, settings };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  for (const e of output.errors ?? []) {
    const file = e.sourceLocation?.file ?? '';
    if (e.severity === 'error' || !(file.startsWith('lib/') || file.startsWith('node_modules/'))) {
      console.error(e.formattedMessage);
    }
  }
  if (errors.length > 0) {
    console.error(`build.mjs: ${errors.length} compile error(s)`);
    process.exit(1);
  }
  return output;
}

const built = GROUPS.flatMap((group) => {
  const output = compile(group);
  return group.contracts.map(([unit, name]) => [name, output.contracts[unit][name]]);
});
if (process.env.LIST_SOURCES) {
  fs.writeFileSync(process.env.LIST_SOURCES, [...loaded].sort().join('\n') + '\n');
}

let stale = 0;
for (const [name, c] of built) {
  const artifact = {
    contractName: name,
    compiler: `solc-js ${solc.version()}`,
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion },
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
  };
  const text = `${JSON.stringify(artifact, null, 2)}\n`;
  const out = path.join(here, 'out', `${name}.json`);
  if (check) {
    const committed = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    if (committed !== text) {
      console.error(`build.mjs --check: ${path.relative(process.cwd(), out)} is not the build of contracts/src (run node contracts/build.mjs)`);
      stale++;
    } else {
      console.log(`build.mjs --check: ${name} up to date (${solc.version()})`);
    }
  } else {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, text);
    console.log(`build.mjs: wrote ${path.relative(process.cwd(), out)} (${solc.version()}, ${(c.evm.bytecode.object.length / 2) | 0} bytes)`);
  }
}
process.exit(stale > 0 ? 1 : 0);
