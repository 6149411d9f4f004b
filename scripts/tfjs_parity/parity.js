// Copyright 2026 affect maintainers
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// Run an original tfjs peer model on grey 8-bit face crops and print its probabilities.
//
// Usage: node parity.js faceapi|human INPUT.json
// INPUT.json: {"shape": [N, H, W], "data": "<base64 of N*H*W uint8 pixels>"}.
// Prints {"backend": ..., "tfjs": ..., "probabilities": [[...], ...]} on stdout.
//
// Each crop is given to the model as a grey photograph decoded to RGB (the grey value
// repeated in all three channels), exactly as the package's own code receives it:
// - faceapi: @vladmandic/face-api's FaceExpressionNet, its own code and its own weights
//   (model/face_expression_model*), fed an H x W x 3 tensor of 0..255 values.
// - human: @vladmandic/human's models/emotion graph model, loaded by tfjs-converter, after
//   the preprocessing of human's src/gear/emotion.ts (face tensor in 0..1, bilinear resize
//   to 64, weighted grey, (x - 0.5) * 2).
// Both run on tfjs's pure-JavaScript cpu backend. This runs at conversion time only.

'use strict';

const fs = require('fs');
const path = require('path');

const tf = require('@tensorflow/tfjs');

// Weighted rgb to grey and the [-1, 1] scaling, as in human's src/tfjs/constants.ts.
const HUMAN_RGB = [0.2989, 0.5870, 0.1140];

function packageDir(name) {
  return path.join(__dirname, 'node_modules', ...name.split('/'));
}

function readCrops(file) {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  const pixels = Buffer.from(spec.data, 'base64');
  const [n, h, w] = spec.shape;
  if (pixels.length !== n * h * w) {
    throw new Error(`${file}: ${pixels.length} bytes for shape ${spec.shape}`);
  }
  const crops = [];
  for (let i = 0; i < n; i++) {
    const grey = new Float32Array(h * w);
    for (let j = 0; j < h * w; j++) grey[j] = pixels[i * h * w + j];
    crops.push(tf.tensor3d(grey, [h, w, 1]));
  }
  return crops;
}

async function faceapiProbabilities(crops) {
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  await faceapi.tf.setBackend('cpu');
  await faceapi.tf.ready();
  const modelDir = path.join(packageDir('@vladmandic/face-api'), 'model');
  const net = faceapi.nets.faceExpressionNet;
  await net.loadFromDisk(modelDir);
  const rows = [];
  for (const crop of crops) {
    const rgb = faceapi.tf.tensor3d(await crop.data(), crop.shape).tile([1, 1, 3]);
    const probabilities = await net.forward(rgb);
    rows.push(Array.from(await probabilities.data()));
    faceapi.tf.dispose([rgb, probabilities]);
  }
  return { backend: faceapi.tf.getBackend(), tfjs: faceapi.tf.version_core, rows };
}

async function humanProbabilities(crops) {
  await tf.setBackend('cpu');
  await tf.ready();
  const dir = path.join(packageDir('@vladmandic/human'), 'models');
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'emotion.json'), 'utf8'));
  const weightSpecs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs, weightData, format: json.format,
    generatedBy: json.generatedBy, convertedBy: json.convertedBy,
  }));
  const inputSize = model.inputs[0].shape[2];
  const rgb = tf.tensor1d(HUMAN_RGB, 'float32');
  const rows = [];
  for (const crop of crops) {
    const out = tf.tidy(() => {
      // human's face tensor: [1, h, w, 3] in 0..1
      const image = tf.div(tf.tile(crop, [1, 1, 3]), tf.scalar(255.0, 'float32')).expandDims(0);
      const resize = tf.image.resizeBilinear(image, [inputSize, inputSize], false);
      const grayscale = tf.sum(tf.mul(resize, rgb), 3, true);
      const centred = tf.sub(grayscale, tf.scalar(0.5, 'float32'));
      const scaled = tf.mul(centred, tf.scalar(2.0, 'float32'));
      return model.execute(scaled);
    });
    rows.push(Array.from(await out.data()));
    tf.dispose(out);
  }
  return { backend: tf.getBackend(), tfjs: tf.version_core, rows };
}

async function main() {
  const [which, file] = process.argv.slice(2);
  const run = { faceapi: faceapiProbabilities, human: humanProbabilities }[which];
  if (!run || !file) {
    process.stderr.write('usage: node parity.js faceapi|human INPUT.json\n');
    process.exit(2);
  }
  const crops = readCrops(file);
  const { backend, tfjs, rows } = await run(crops);
  process.stdout.write(JSON.stringify({ backend, tfjs, probabilities: rows }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
