// The list of subcommands; each module adds itself to the program.
import type { Command } from 'commander';
import { register as registerAnnotate } from './annotate.js';
import { register as registerBestOfN } from './best-of-n.js';
import { register as registerData } from './data.js';
import { register as registerEval } from './eval.js';
import { register as registerGenerate } from './generate.js';
import { register as registerLabel } from './label.js';
import { register as registerLaunch } from './launch.js';
import { register as registerModel } from './model.js';
import { register as registerPipeline } from './pipeline.js';
import { register as registerServe } from './serve.js';
import { register as registerTokenizer } from './tokenizer.js';
import { register as registerTrain } from './train.js';
import { register as registerWorld } from './world.js';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerData, registerWorld, registerTokenizer, registerModel, registerPipeline, registerTrain, registerEval, registerBestOfN, registerGenerate, registerServe, registerLabel, registerAnnotate, registerLaunch];
