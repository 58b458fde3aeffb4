import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Inflights } from './inflights.js'

describe('Inflights', () => {
  test('fills up to capacity, frees in order', () => {
    const in_ = new Inflights(10)
    for (let i = 0; i < 5; i++) in_.add(i, 100)
    assert.equal(in_.count(), 5)
    assert.equal(in_.bytes(), 500)
    assert.equal(in_.full(), false)
    for (let i = 5; i < 10; i++) in_.add(i, 100)
    assert.equal(in_.full(), true)
    assert.throws(() => in_.add(10, 1), /full/)
    in_.freeLE(4)
    assert.equal(in_.count(), 5)
    assert.equal(in_.bytes(), 500)
    assert.equal(in_.full(), false)
    in_.freeLE(8)
    assert.equal(in_.count(), 1)
    in_.freeLE(9)
    assert.equal(in_.count(), 0)
    assert.equal(in_.bytes(), 0)
  })

  test('wraps around the ring', () => {
    const in_ = new Inflights(4)
    for (let i = 1; i <= 4; i++) in_.add(i, 1)
    in_.freeLE(2)
    in_.add(5, 1)
    in_.add(6, 1)
    assert.equal(in_.full(), true)
    in_.freeLE(4)
    assert.equal(in_.count(), 2)
    in_.add(7, 1)
    in_.freeLE(6)
    assert.equal(in_.count(), 1)
    in_.freeLE(7)
    assert.equal(in_.count(), 0)
  })

  test('freeing below the first index or on empty is a no-op', () => {
    const in_ = new Inflights(4)
    in_.freeLE(10)
    in_.add(5, 1)
    in_.freeLE(4)
    assert.equal(in_.count(), 1)
  })

  test('byte limit makes the window full', () => {
    const in_ = new Inflights(100, 1000)
    in_.add(1, 400)
    in_.add(2, 400)
    assert.equal(in_.full(), false)
    in_.add(3, 200)
    assert.equal(in_.full(), true)
    in_.freeLE(1)
    assert.equal(in_.full(), false)
    assert.equal(in_.bytes(), 600)
  })

  test('grows lazily while keeping order, and clone is independent', () => {
    const in_ = new Inflights(64)
    for (let i = 0; i < 3; i++) in_.add(i, 1)
    in_.freeLE(1)
    for (let i = 3; i < 40; i++) in_.add(i, 1)
    const c = in_.clone()
    in_.freeLE(20)
    assert.equal(in_.count(), 19)
    assert.equal(c.count(), 38)
    c.freeLE(39)
    assert.equal(c.count(), 0)
  })

  test('reset empties', () => {
    const in_ = new Inflights(2)
    in_.add(1, 5)
    in_.add(2, 5)
    in_.reset()
    assert.equal(in_.count(), 0)
    assert.equal(in_.bytes(), 0)
    assert.equal(in_.full(), false)
  })
})
