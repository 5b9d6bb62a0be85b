// Models: causal LMs (GPT-2, Llama families), score models, generation, HF formats, tokenizers.
export { Module, Container, StateDictError } from './module.js';
export { CausalLM, createCausalLM, FAMILIES, type LMOutput } from './causal-lm.js';
export { ScoreModel, NORMALIZE_KIND, lastTokenIndex, endScoresOf, type ScoreType, type ScoreStats, type SequenceScorer } from './score-model.js';
export { generate, sequenceLogProbs, ContextLengthError, type GenerateOptions, type GenerateOutput } from './generate.js';
export { loadPretrained, savePretrained, type LoadedModel } from './hf.js';
export { parseModelConfig, ModelConfigError, SUPPORTED_MODEL_TYPES, type ModelConfig, type Gpt2Config, type LlamaConfig } from './hf-config.js';
export { Tokenizer, TokenizerError, DEFAULT_CHAT_TEMPLATE, type ChatMessage } from './tokenizer.js';
export { formatPrompt, RawPromptsSchema, type PromptInput, type PromptOptions } from './prompt.js';
export { trainWordLevel, trainBpe } from './tokenizer-train.js';
export { readSafetensors, writeSafetensors, readSafetensorsDir, writeSafetensorsDir, SafetensorsError, type RawTensor } from './safetensors.js';
export { rawToTensor, tensorToRaw, loadStateDict, saveStateDict } from './state-dict.js';
export { Linear, type WeightLayout } from './linear.js';
export { applyLora, mergeLora, LoraError, type LoraOptions, type LoraSettings, type ResolvedLora, type LoraModel } from './lora.js';
export { saveAdapter, loadAdapter, readAdapterConfig, mergeAdapterFolder, ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './peft.js';
export { initPretrained, type InitModelResult } from './init.js';
export type { Backbone, PeftTask } from './types.js';
export { parseVerbalized, pickVerbalized, verbalizedPrompt, verbalizedSample, type VerbalizedAnswer, type VerbalizedParse, type VerbalizedResult } from './verbalized.js';
