package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import java.nio.file.Path;
import java.util.Map;

/**
 * What {@link SyntheticModels#write} wrote.
 *
 * @param directory       the model folder
 * @param family          the model family
 * @param scale           the scale
 * @param dtype           the weights' dtype
 * @param seed            the weight seed
 * @param tokenizer       the tokenizer vocabulary kind
 * @param vocabSize       tokens in the tokenizers, equal to the text encoders' {@code vocab_size}
 * @param parameterCounts parameters per component folder ({@code text_encoder}, {@code unet}, ...), in writing order
 * @param totalBytes      bytes of all files in the folder
 */
public record SyntheticFolder(Path directory, Family family, Scale scale, DType dtype, long seed,
                              TokenizerKind tokenizer, int vocabSize, Map<String, Long> parameterCounts,
                              long totalBytes) {
    /** Copies the counts. */
    public SyntheticFolder {
        parameterCounts = Map.copyOf(parameterCounts);
    }
}
