// CLI over referenceTrain (reference-train.ts): prints the mean loss every 100 steps.
//   npx node engine/train/reference-train.node.ts MIXERS LR STEPS [CONFIG_JSON_OVERRIDES]
//   e.g. … attention,attention 3e-3 1500          … attention,attention 3e-3 1500 '{"lab_qkv_conv":2}'
import { referenceTrain, smallMqarConfig } from './reference-train.ts';

const [mix, lrArg, stepsArg, extra] = process.argv.slice(2);
if (!mix || !lrArg || !stepsArg) throw new Error('usage: reference-train.node.ts MIXERS LR STEPS [CONFIG_JSON_OVERRIDES]');
const config = smallMqarConfig(mix.split(','), extra ? (JSON.parse(extra) as Record<string, unknown>) : {});
referenceTrain(config, {
  steps: Number(stepsArg),
  lr: Number(lrArg),
  onLoss: (step, loss) => console.log(`${mix} step ${step} loss ${loss.toFixed(3)}`),
});
