// The tokenizer's typed errors: a bad tokenizer.json, a bad argument, a missing file.

/** tokenizer.json (or tokenizer_config.json) is malformed or asks for something this tokenizer does not do. */
export class TokenizerFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerFormatError';
  }
}

/** A caller passed something that cannot be tokenized, decoded or rendered (a non-string, an unknown id, …). */
export class TokenizerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerInputError';
  }
}

/** A tokenizer file could not be found or read (Node loader and CLI). */
export class TokenizerFileError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'TokenizerFileError';
    this.path = path;
  }
}
