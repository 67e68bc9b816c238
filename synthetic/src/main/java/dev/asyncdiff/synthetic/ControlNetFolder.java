package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import java.nio.file.Path;

/**
 * What {@link SyntheticModels#writeControlNet} wrote.
 *
 * @param directory      the ControlNet folder ({@code config.json}, {@code model.onnx}, at full scale {@code model.onnx_data})
 * @param family         the base family
 * @param scale          the scale
 * @param dtype          the weights' dtype
 * @param seed           the weight seed
 * @param parameterCount parameters of the ControlNet
 * @param totalBytes     bytes of all files in the folder
 */
public record ControlNetFolder(Path directory, Family family, Scale scale, DType dtype, long seed, long parameterCount,
                               long totalBytes) {
}
