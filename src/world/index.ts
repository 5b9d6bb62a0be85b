// Public API of the built-in world: prompts, responses, gold oracle, SFT corpus, annotators, buildWorld.
export { Rng, hashString } from './rng.js';
export { BENIGN_TOPICS, RISKY_TOPICS, type BenignTopic, type RiskyTopic } from './topics.js';
export { tokenize, roleOf, topicOfPrompt, topicByName, allTopics, worldVocabulary, type TopicRef, type WordRole } from './lexicon.js';
export { buildPrompts, buildImagePrompts, imageTopicOf, IMAGE_ASK, type WorldPrompt, type PromptSplit } from './prompts.js';
export { TOPIC_GLYPHS, glyphSvg, imagePose, renderTopicImage, topicImagePath, UnknownGlyphError, type Glyph, type ImagePose } from './images.js';
export { generateResponse, RESPONSE_KINDS, MAX_RESPONSE_TOKENS, UnknownTopicError, type ResponseKind, type PromptInfo } from './responses.js';
export {
  goldHelpfulness,
  explainHelpfulness,
  goldHarm,
  promptTopic,
  UnknownImageTopicError,
  severityOf,
  HELPFULNESS,
  SEVERITY_THRESHOLDS,
  type HelpfulnessBreakdown,
  type HarmVerdict,
  type ValuedWord,
} from './oracle.js';
export { buildSftCorpus, sampleResponse, goldLabels, goldHarmfulRate, kindWeights, type SftExample, type GoldLabels } from './sft.js';
export * from './annotators.js';
export * from './aggregate.js';
export * from './config.js';
export { buildWorld, buildImageWorld, WORLD_FILES, WorldBuildError, type WorldSummary } from './build.js';
export { formatWorldSummary } from './report.js';
