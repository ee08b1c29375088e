/**
 * Small ONNX models for tests, written with onnx-proto: a linear layer (MatMul + Add) over one
 * float32 input [N, F], optionally followed by Softmax or Sigmoid. Weights are given as F rows of
 * C columns. `identityModel(F)` outputs its input unchanged, so a test chooses the model's exact
 * outputs by writing them as the data's feature columns.
 */
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'

import type {onnx as OnnxNamespace} from 'onnx-proto'

const {onnx} = createRequire(import.meta.url)('onnx-proto') as {onnx: typeof OnnxNamespace}

export interface LinearOptions {
  /** F rows (one per feature) of C columns (one per output). */
  weights: number[][]
  /** C values. */
  bias: number[]
  activation?: 'none' | 'softmax' | 'sigmoid'
  /** Default `features`. */
  inputName?: string
  /** Default `probabilities` (`prediction` for `none`). */
  outputName?: string
  /** Declare the feature count as a symbolic dimension, so only running the model finds a mismatch. */
  symbolicFeatures?: boolean
}

/** The bytes of a model computing activation(X · weights + bias). */
export function linearModel(o: LinearOptions): Uint8Array {
  const F = o.weights.length
  const C = o.bias.length
  if (F === 0 || o.weights.some((row) => row.length !== C)) throw new Error(`weights must be ${F} rows of ${C} numbers`)
  const FLOAT = onnx.TensorProto.DataType.FLOAT
  const activation = o.activation ?? 'none'
  const input = o.inputName ?? 'features'
  const output = o.outputName ?? (activation === 'none' ? 'prediction' : 'probabilities')
  const dims = (d: Array<number | string>) => ({dim: d.map((x) => (typeof x === 'string' ? {dimParam: x} : {dimValue: x}))})
  const value = (name: string, d: Array<number | string>) => ({name, type: {tensorType: {elemType: FLOAT, shape: dims(d)}}})
  const linearOut = activation === 'none' ? output : 'logits'
  const node: OnnxNamespace.INodeProto[] = [
    {opType: 'MatMul', input: [input, 'W'], output: ['xw'], name: 'matmul'},
    {opType: 'Add', input: ['xw', 'b'], output: [linearOut], name: 'add'},
  ]
  if (activation === 'softmax') {
    node.push({opType: 'Softmax', input: ['logits'], output: [output], name: 'softmax', attribute: [{name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1}]})
  }
  if (activation === 'sigmoid') node.push({opType: 'Sigmoid', input: ['logits'], output: [output], name: 'sigmoid'})
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'dv-tests',
    opsetImport: [{domain: '', version: 13}],
    graph: {
      name: 'linear',
      node,
      initializer: [
        {name: 'W', dims: [F, C], dataType: FLOAT, floatData: o.weights.flat()},
        {name: 'b', dims: [C], dataType: FLOAT, floatData: o.bias},
      ],
      input: [value(input, ['N', o.symbolicFeatures ? 'F' : F])],
      output: [value(output, ['N', C])],
    },
  })
  return onnx.ModelProto.encode(model).finish()
}

/** Binary logistic regression: sigmoid(X · weights + bias), one probability per row. */
export function logisticModel(weights: number[], bias: number): Uint8Array {
  return linearModel({weights: weights.map((w) => [w]), bias: [bias], activation: 'sigmoid'})
}

/** Multinomial logistic regression: softmax(X · W + b), W given as F rows of C columns. */
export function softmaxModel(weights: number[][], bias: number[]): Uint8Array {
  return linearModel({weights, bias, activation: 'softmax'})
}

/** A model whose output is its input (X · I + 0): the data's feature columns are its outputs, exactly. */
export function identityModel(features: number, options: Omit<LinearOptions, 'weights' | 'bias'> = {}): Uint8Array {
  const weights = Array.from({length: features}, (_, i) => Array.from({length: features}, (_, j) => (i === j ? 1 : 0)))
  return linearModel({...options, weights, bias: new Array(features).fill(0)})
}

export function writeModel(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes)
}
