import t from 'tap'
t.test('node runs TypeScript', async t => {
  const x: number = 1
  t.equal(x, 1)
  t.ok(Number(process.versions.node.split('.')[0]) >= 22)
})
