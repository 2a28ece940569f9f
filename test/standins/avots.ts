// The avots stand-in lives in the product (src/standins/avots.ts): the
// offline rehearsal bake serves it to the build VM. Tests import it from here.
export * from '../../src/standins/avots.ts'
