/**
 * The byte and hex helpers every part uses: equality of digests and of long
 * arrays (views into a larger buffer included), hex both ways.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { fromHex, hex, sameBytes } from '../../store/util.js'

t.test('sameBytes: equal contents, whatever the view; any difference, length or absence tells', async (t) => {
  for (const n of [0, 1, 31, 32, 64, 65, 1000]) {
    const a = new Uint8Array(randomBytes(n))
    // the same bytes at an offset inside a bigger buffer
    const big = new Uint8Array(n + 10)
    big.set(a, 7)
    const view = big.subarray(7, 7 + n)
    t.ok(sameBytes(a, view), `${n} bytes, a view at an offset`)
    t.ok(sameBytes(a, Buffer.from(a)), `${n} bytes, a Buffer`)
    if (n > 0) {
      for (const at of [0, n >> 1, n - 1]) {
        const b = a.slice()
        b[at] = b[at]! ^ 0x80
        t.notOk(sameBytes(a, b), `${n} bytes, byte ${at} differs`)
      }
    }
    t.notOk(sameBytes(a, new Uint8Array(n + 1)), `${n} against ${n + 1} bytes`)
  }
  t.ok(sameBytes(undefined, undefined))
  t.notOk(sameBytes(new Uint8Array(0), undefined))
  t.notOk(sameBytes(undefined, new Uint8Array(0)))
})

t.test('hex and fromHex are inverse for lowercase hex', async (t) => {
  const bytes = new Uint8Array(randomBytes(64))
  t.equal(hex(bytes), Buffer.from(bytes).toString('hex'))
  t.same(fromHex(hex(bytes)), bytes)
  t.equal(hex(bytes.subarray(10, 20)), Buffer.from(bytes.subarray(10, 20)).toString('hex'), 'a view: its own bytes, not the whole buffer')
})
