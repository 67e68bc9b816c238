package dev.asyncdiff.examples.ddpm;

/**
 * The noise schedule a DDPM-family model was trained with: {@code alphas_cumprod} from the
 * {@code beta_start}, {@code beta_end}, {@code beta_schedule} ({@code linear} or
 * {@code scaled_linear}) or {@code trained_betas} and {@code num_train_timesteps} keys. Values are
 * rounded to float32 where diffusers keeps them in float32 torch tensors, so they match diffusers'
 * to the bit. Immutable and thread-safe.
 */
final class TrainingSchedule {
    private final double[] alphasCumprod;

    private TrainingSchedule(double[] alphasCumprod) {
        this.alphasCumprod = alphasCumprod;
    }

    /**
     * The schedule the keys describe (diffusers' defaults: 1000 steps, linear betas 0.0001 to 0.02).
     *
     * @throws IllegalArgumentException naming the key when a value is out of range
     */
    static TrainingSchedule from(SchedulerKeys keys) {
        int count = keys.getInt("num_train_timesteps", 1000);
        if (count < 1) {
            throw keys.outOfRange("num_train_timesteps", ">= 1", count);
        }
        double[] betas = keys.getDoubles("trained_betas");
        String betasKey = "trained_betas";
        if (betas != null) {
            if (betas.length != count) {
                throw keys.outOfRange("trained_betas", "a list of num_train_timesteps (" + count + ") numbers",
                        betas.length + " numbers");
            }
            for (int i = 0; i < count; i++) {
                betas[i] = (float) betas[i];
            }
        } else {
            double start = keys.getDouble("beta_start", 0.0001);
            double end = keys.getDouble("beta_end", 0.02);
            if (!(start >= 0)) {
                throw keys.outOfRange("beta_start", ">= 0", start);
            }
            if (!(end >= 0)) {
                throw keys.outOfRange("beta_end", ">= 0", end);
            }
            betasKey = "beta_start/beta_end";
            betas = switch (keys.getChoice("beta_schedule", "linear", "linear", "scaled_linear")) {
                case "linear" -> torchLinspaceF32(start, end, count);
                default -> {
                    double[] roots = torchLinspaceF32(Math.sqrt(start), Math.sqrt(end), count);
                    for (int i = 0; i < count; i++) {
                        roots[i] = (float) (roots[i] * roots[i]);
                    }
                    yield roots;
                }
            };
        }
        double[] cumprod = new double[count];
        double product = 1.0;
        for (int i = 0; i < count; i++) {
            if (!(betas[i] >= 0 && betas[i] < 1)) {
                throw keys.outOfRange(betasKey, "values that give every beta in [0, 1)", "beta[" + i + "] = "
                        + betas[i]);
            }
            // torch's cumprod on CPU accumulates in double and rounds each output to float32
            product *= (float) (1.0 - betas[i]);
            cumprod[i] = (float) product;
        }
        return new TrainingSchedule(cumprod);
    }

    /** The number of training timesteps T. */
    int numTrainTimesteps() {
        return alphasCumprod.length;
    }

    /** ᾱ of {@code timestep}, which must be in [0, T). */
    double alphaCumprod(int timestep) {
        if (timestep < 0 || timestep >= alphasCumprod.length) {
            throw new IllegalArgumentException("timestep " + timestep + " is outside [0, " + (alphasCumprod.length - 1)
                    + "] of the training schedule");
        }
        return alphasCumprod[timestep];
    }

    /**
     * {@code torch.linspace(start, end, num, dtype=float32)} as torch's CPU kernel computes it: a
     * float32 step, the first half counted up from {@code start}, the second half down from {@code end}.
     */
    static double[] torchLinspaceF32(double start, double end, int num) {
        float from = (float) start;
        float to = (float) end;
        double[] out = new double[num];
        if (num == 1) {
            out[0] = from;
            return out;
        }
        float step = (to - from) / (float) (num - 1);
        int halfway = num / 2;
        for (int i = 0; i < num; i++) {
            out[i] = i < halfway ? from + step * (float) i : to - step * (float) (num - i - 1);
        }
        return out;
    }
}
