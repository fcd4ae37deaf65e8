// Placeholder until its owner lands it; see binding.gyp for the family this file belongs to.
